/**
 * The database role the application's connections act as. It may read and
 * write practice data but only append to the User Action History; schema
 * changes and retention deletes run with the owner's rights.
 */
export const APP_ROLE = 'practice_audit_app'
