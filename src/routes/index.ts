import type { FastifyInstance } from 'fastify'
import auth from './auth/index.js'
import home from './home/index.js'
import users from './settings/users/index.js'
import addOns from './settings/add-ons/index.js'
import credits from './settings/credits/index.js'
import alerts from './settings/alerts/index.js'
import integrations from './settings/integrations/index.js'
import { recordRoutes } from './records/index.js'
import history from './history/index.js'
import restrictedPatients from './restricted-patients/index.js'
import { groupHistory, recordHistory } from './history/subjects.js'
import accessReport from './access-report/index.js'
import { patientKind } from '../domain/patients/patient.kind.js'
import { appointmentKind } from '../domain/appointments/appointment.kind.js'
import { invoiceKind } from '../domain/invoices/invoice.kind.js'

export default async function routes (app: FastifyInstance): Promise<void> {
  await app.register(auth)
  await app.register(home)
  await app.register(users, { prefix: '/settings/users' })
  await app.register(history, { prefix: '/settings/users/history', of: groupHistory })
  await app.register(addOns, { prefix: '/settings/add-ons' })
  await app.register(credits, { prefix: '/settings/credits' })
  await app.register(alerts, { prefix: '/settings/alerts' })
  await app.register(integrations, { prefix: '/settings/integrations' })
  for (const kind of [patientKind, appointmentKind, invoiceKind]) {
    await app.register(recordRoutes(kind), { prefix: kind.basePath })
    await app.register(history, { prefix: `${kind.basePath}/:id/history`, of: recordHistory(kind) })
  }
  await app.register(restrictedPatients, { prefix: '/patients' })
  await app.register(accessReport, { prefix: patientKind.basePath })
}
