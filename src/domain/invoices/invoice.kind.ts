import type { PracticeRecordKind } from '../practice-records/practice-record-kind.js'
import { localIsoDate } from '../time/zoned.js'
import { isFullAccess } from '../users/user.entity.js'
import { Invoice, INVOICE_STATUSES } from './invoice.entity.js'

/**
 * Practitioners may look at invoices but not change them; Reception and
 * Full Access handle billing. Only Full Access may void an invoice or
 * delete one, and only a Draft may be deleted: an issued invoice is voided.
 */
export const invoiceKind: PracticeRecordKind = {
  type: 'invoice',
  entity: Invoice as never,
  basePath: '/invoices',
  title: 'Invoice',
  plural: 'Invoices',
  page: 'Invoice',
  fields: [
    { name: 'patientId', label: 'Patient', type: 'patient', required: true },
    { name: 'issueDate', label: 'Issue date', type: 'date', required: true },
    { name: 'description', label: 'Description', type: 'text', required: true, maxLength: 500 },
    { name: 'amountCents', label: 'Amount', type: 'money', required: true },
    { name: 'status', label: 'Status', type: 'choice', required: true, choices: INVOICE_STATUSES }
  ],
  listColumns: ['issueDate', 'patientId', 'description', 'amountCents', 'status'],
  listOrder: { issueDate: 'desc', id: 'desc' },
  patientOf: record => record.patientId == null ? null : Number(record.patientId),
  describe: (record, lookups) => `#${String(record.id ?? 'new')} for ${lookups.patients.get(Number(record.patientId)) ?? 'patient'}`,
  defaults: (now, timeZone) => ({ issueDate: localIsoDate(now, timeZone), status: 'Draft' }),
  mayChange: (user, before, after) => {
    if (user.accessLevel === 'Practitioner') return 'Practitioners can view invoices but not change them.'
    if (after.status === 'Void' && before?.status !== 'Void' && !isFullAccess(user)) return 'Only Full Access users can void an invoice.'
    return null
  },
  mayDelete: (user, record) => {
    if (!isFullAccess(user)) return 'Only Full Access users can delete an invoice.'
    if (record.status !== 'Draft') return 'Only a Draft invoice can be deleted; void an issued invoice instead.'
    return null
  }
}
