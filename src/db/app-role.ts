/**
 * The database roles the application logs in as. Neither owns the schema,
 * is a superuser, or may become another role.
 * - APP_ROLE serves requests: it reads and writes one practice at a time
 *   (row-level security) and may only append to the User Action History.
 * - KEEPER_ROLE runs the sealer and the scheduled job: it reads every
 *   practice, appends to the hash chain, moves the sealing position and
 *   calls the retention function, and changes nothing else.
 * Schema changes and demo data use the owner's login.
 */
export const APP_ROLE = 'practice_audit_app'
export const KEEPER_ROLE = 'practice_audit_keeper'
