import fp from 'fastify-plugin'
import { assertMayOpenPatient, patientsNeedingReason, withGrant, withheldPatients, type Grants } from '../../domain/restricted-patients/break-glass.js'

declare module 'fastify' {
  interface Session {
    /** When this session gave a reason to open each restricted patient; kept on the server with the session. */
    breakGlass?: Grants
  }
  interface FastifyRequest {
    /** Refuses (ReasonRequiredError) unless the signed-in user may open this patient's records now; says whether the patient is restricted. */
    assertMayOpenPatient: (patientId: number | null) => Promise<{ restricted: boolean }>
    /** Of these patients, the restricted ones the signed-in user may not open yet. */
    patientsNeedingReason: (patientIds: number[]) => Promise<Set<number>>
    /** The restricted patients whose records' details the signed-in user may not see now. */
    withheldPatients: () => Promise<number[]>
    /** Lets this session open the patient for the next 30 minutes. */
    grantPatient: (patientId: number) => void
  }
}

/**
 * Break-the-glass, for every route that concerns a patient: the rule is the
 * domain's, the session holds the reasons given, and the clock is the app's.
 */
export default fp(async (app) => {
  app.decorateRequest('assertMayOpenPatient', async function (patientId: number | null) {
    return assertMayOpenPatient(this.em, this.currentUser!, patientId, app.clock.now(), this.session.breakGlass ?? {})
  })
  app.decorateRequest('patientsNeedingReason', async function (patientIds: number[]) {
    return patientsNeedingReason(this.em, this.currentUser!, patientIds, app.clock.now(), this.session.breakGlass ?? {})
  })
  app.decorateRequest('withheldPatients', async function () {
    return withheldPatients(this.em, this.currentUser!, app.clock.now(), this.session.breakGlass ?? {})
  })
  app.decorateRequest('grantPatient', function (patientId: number) {
    this.session.breakGlass = withGrant(this.session.breakGlass ?? {}, patientId, app.clock.now())
  })
}, { name: 'break-glass', dependencies: ['auth', 'clock', 'session'] })
