import type { HistoryRow } from '../audit-records/reads.js'

/**
 * One history record as a FHIR R4 AuditEvent, shaped after the IHE Basic
 * Audit Log Patterns (BALP) where one fits. BALP has profiles for RESTful
 * reads, searches, creates, updates and deletes, each in a variant for
 * records about a patient; it has none for sign-ins, sign-outs or exports,
 * which follow DICOM's event codes as FHIR's own examples do. An event
 * names a BALP profile in `meta.profile` only when it is a success that
 * carries every element the profile requires.
 */

/** Where the events happened: the practice, and the address this server answers at (records keep only the path and query), if known. */
export interface AuditEventSource {
  site: string
  serverAddress: string | null
}

export interface Coding { system: string, code: string, display: string }
interface CodeableConcept { coding: Coding[] }
interface Reference { reference?: string, identifier?: { type: { text: string }, value: string }, display?: string }
interface Network { address: string, type: '2' | '5' }

export interface AuditEventAgent {
  type?: CodeableConcept
  who: Reference
  name?: string
  requestor: boolean
  network?: Network
}

export interface AuditEventEntity {
  what?: Reference
  type: Coding
  role: Coding
  description?: string
  query?: string
  detail?: { type: string, valueString: string }[]
}

export interface AuditEvent {
  resourceType: 'AuditEvent'
  id: string
  meta?: { profile: string[] }
  text: { status: 'additional', div: string }
  type: Coding
  subtype?: Coding[]
  action?: 'C' | 'R' | 'U' | 'D' | 'E'
  recorded: string
  outcome: '0' | '4'
  outcomeDesc?: string
  agent: AuditEventAgent[]
  source: { site: string, observer: Reference, type: Coding[] }
  entity?: AuditEventEntity[]
}

export const THIS_SYSTEM = 'Practice Audit'

const DCM = 'http://dicom.nema.org/resources/ontology/DCM'
const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.'

const REST: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' }
const USER_AUTHENTICATION: Coding = { system: DCM, code: '110114', display: 'User Authentication' }
const LOGIN: Coding = { system: DCM, code: '110122', display: 'Login' }
const LOGOUT: Coding = { system: DCM, code: '110123', display: 'Logout' }
const EXPORT: Coding = { system: DCM, code: '110106', display: 'Export' }
const interaction = (code: 'read' | 'search-type' | 'create' | 'update' | 'delete'): Coding => ({ system: 'http://hl7.org/fhir/restful-interaction', code, display: code })

const SOURCE_ROLE: Coding = { system: DCM, code: '110153', display: 'Source Role ID' }
const DESTINATION_ROLE: Coding = { system: DCM, code: '110152', display: 'Destination Role ID' }
const APPLICATION: Coding = { system: DCM, code: '110150', display: 'Application' }
const CUSTODIAN: Coding = { system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'custodian', display: 'Custodian' }
const RECIPIENT: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' }
const AUTHOR: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'AUT', display: 'author (originator)' }
const HUMAN_USER: Coding = { system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }

const PERSON: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' }
const SYSTEM_OBJECT: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' }
const PATIENT_ROLE: Coding = { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' }
const DOMAIN_RESOURCE: Coding = { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '4', display: 'Domain Resource' }
const QUERY_ROLE: Coding = { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' }
const APPLICATION_SERVER: Coding = { system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }

/** The practice records that are FHIR resources of the same name, each about a patient; every other kind is named by an identifier. */
const FHIR_RESOURCE_TYPES = new Map([['patient', 'Patient'], ['appointment', 'Appointment'], ['invoice', 'Invoice']])

/**
 * How one kind of event is told: its codes, the parts the browser (client)
 * and this server play, what the user is to it, and whether it names the
 * record acted on, the request made, or both. `profile` is the BALP
 * profile it can claim when complete.
 */
interface EventShape {
  type: Coding
  subtype?: Coding
  action?: AuditEvent['action']
  profile?: 'Read' | 'Query' | 'Create' | 'Update' | 'Delete'
  client: Coding
  server: Coding
  user?: Coding
  names: { record: boolean, request: boolean }
}

const RECORD = { record: true, request: false }
const REQUEST = { record: false, request: true }
const BOTH = { record: true, request: true }

const READ: EventShape = { type: REST, subtype: interaction('read'), action: 'R', profile: 'Read', client: DESTINATION_ROLE, server: SOURCE_ROLE, user: RECIPIENT, names: RECORD }
const BLANK_FORM: EventShape = { ...READ, profile: undefined }
// BALP's query names the request and the patient only: a second system object would be taken for a second query.
const SEARCH: EventShape = { type: REST, subtype: interaction('search-type'), action: 'E', profile: 'Query', client: SOURCE_ROLE, server: DESTINATION_ROLE, user: RECIPIENT, names: REQUEST }
const CREATE: EventShape = { type: REST, subtype: interaction('create'), action: 'C', profile: 'Create', client: SOURCE_ROLE, server: DESTINATION_ROLE, user: AUTHOR, names: RECORD }
const UPDATE: EventShape = { ...CREATE, subtype: interaction('update'), action: 'U', profile: 'Update' }
const DELETE: EventShape = { ...CREATE, subtype: interaction('delete'), action: 'D', profile: 'Delete', client: APPLICATION, server: CUSTODIAN }
const SIGN_IN: EventShape = { type: USER_AUTHENTICATION, subtype: LOGIN, action: 'E', client: SOURCE_ROLE, server: DESTINATION_ROLE, user: HUMAN_USER, names: RECORD }
const SIGN_OUT: EventShape = { ...SIGN_IN, subtype: LOGOUT }
const EXPORTED: EventShape = { type: EXPORT, action: 'R', client: DESTINATION_ROLE, server: SOURCE_ROLE, user: RECIPIENT, names: BOTH }
// Which interaction was refused is told by the description and the URL, not in a form to code.
const REFUSED: EventShape = { type: REST, client: SOURCE_ROLE, server: DESTINATION_ROLE, names: BOTH }

/**
 * A view of a User Action History or of an access report reads the audit
 * log about its subject: a search of the log, not a read of the subject.
 */
const AUDIT_LOG_PATH = /\/(history|access-report)(\/|$)/

function shapeOf (row: HistoryRow): EventShape {
  switch (row.action) {
    case 'view':
      // A page that names no record lists something: patients, users, the credit ledger.
      if (row.recordType === null || AUDIT_LOG_PATH.test(row.url.split('?')[0]!)) return SEARCH
      return row.recordId === null ? BLANK_FORM : READ
    case 'create': case 'purchase': return CREATE
    case 'update': return UPDATE
    case 'delete': return DELETE
    case 'login': case 'login_failed': return SIGN_IN
    case 'logout': return SIGN_OUT
    case 'export': return EXPORTED
    case 'denied': return REFUSED
  }
}

/** FHIR text holds no control characters but tab, CR and LF. */
const fhirText = (text: string): string => text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd')

const escapeXhtml = (text: string): string =>
  fhirText(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')

function recordReference (recordType: string, recordId: string): Reference {
  const resourceType = FHIR_RESOURCE_TYPES.get(recordType)
  return resourceType
    ? { reference: `${resourceType}/${recordId}` }
    : { identifier: { type: { text: recordType }, value: recordId }, display: `${recordType} ${recordId}` }
}

function entitiesOf (row: HistoryRow, shape: EventShape): AuditEventEntity[] {
  const entities: AuditEventEntity[] = []
  // A patient's own record names them even where the patient is withheld: its id is theirs, and the history shows it.
  const patientId = row.patientId ?? (row.recordType === 'patient' ? row.recordId : null)
  if (patientId !== null) entities.push({ what: { reference: `Patient/${patientId}` }, type: PERSON, role: PATIENT_ROLE })
  if (shape.names.record && row.recordType !== null) {
    // FHIR strings are never empty, so an empty text is left out.
    const detail = ([['page', row.page], ['description', row.description], ['url', row.url]] as const)
      .filter(([, value]) => value !== '').map(([type, value]) => ({ type, valueString: fhirText(value) }))
    entities.push({
      ...(row.recordId !== null ? { what: recordReference(row.recordType, row.recordId) } : {}),
      type: SYSTEM_OBJECT,
      role: DOMAIN_RESOURCE,
      ...(detail.length ? { detail } : {})
    })
  }
  if (shape.names.request && row.url !== '') {
    entities.push({ type: SYSTEM_OBJECT, role: QUERY_ROLE, description: fhirText(row.url), query: Buffer.from(row.url, 'utf8').toString('base64') })
  }
  return entities
}

function agentsOf (row: HistoryRow, shape: EventShape, serverAddress: string | null): AuditEventAgent[] {
  const name = fhirText(row.userName)
  const user: AuditEventAgent = {
    ...(shape.user ? { type: { coding: [shape.user] } } : {}),
    who: { ...(row.userId !== null ? { identifier: { type: { text: 'user' }, value: String(row.userId) } } : {}), display: name },
    name,
    requestor: true
  }
  const server: AuditEventAgent = {
    type: { coding: [shape.server] }, who: { display: THIS_SYSTEM }, requestor: false, ...(serverAddress ? { network: { address: serverAddress, type: '5' as const } } : {})
  }
  // The scheduled job acts with no browser and no address.
  if (row.ip === null) return [user, server]
  const client: AuditEventAgent = { type: { coding: [shape.client] }, who: { display: 'Web browser' }, requestor: false, network: { address: row.ip, type: '2' } }
  return [user, client, server]
}

/**
 * The BALP profile this event satisfies, if any: a success, between a
 * browser and a server whose addresses are known, naming what the profile
 * requires (the record, or the request) and the patient for the patient variant.
 */
function profileOf (row: HistoryRow, shape: EventShape, entities: AuditEventEntity[], serverAddress: string | null): string | null {
  if (!shape.profile || row.outcome !== 'success' || row.ip === null || serverAddress === null) return null
  const complete = shape.profile === 'Query'
    ? entities.some(e => e.role === QUERY_ROLE)
    : entities.some(e => e.role === DOMAIN_RESOURCE && e.what)
  const aboutPatient = entities.some(e => e.role === PATIENT_ROLE)
  // A patient's appointment or invoice whose patient is withheld from this viewer fits neither variant.
  if (!complete || (!aboutPatient && FHIR_RESOURCE_TYPES.has(row.recordType ?? ''))) return null
  return `${BALP}${aboutPatient ? `Patient${shape.profile}` : shape.profile}`
}

/** The event a history record tells of, as this viewer may see the record. */
export function toAuditEvent (row: HistoryRow, { site, serverAddress }: AuditEventSource): AuditEvent {
  const shape = shapeOf(row)
  // A failed sign-in was not refused by an access rule, so its record's outcome says success; as an event, it failed.
  const failed = row.outcome === 'denied' || row.action === 'login_failed'
  const entity = entitiesOf(row, shape)
  const profile = profileOf(row, shape, entity, serverAddress)
  return {
    resourceType: 'AuditEvent',
    id: row.id,
    ...(profile ? { meta: { profile: [profile] } } : {}),
    text: { status: 'additional', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${escapeXhtml(row.page)}: ${escapeXhtml(row.description)}</p></div>` },
    type: shape.type,
    ...(shape.subtype ? { subtype: [shape.subtype] } : {}),
    ...(shape.action ? { action: shape.action } : {}),
    recorded: row.occurredAt.toISOString(),
    outcome: failed ? '4' : '0',
    ...(failed ? { outcomeDesc: fhirText(row.description) } : {}),
    agent: agentsOf(row, shape, serverAddress),
    source: { site: fhirText(site), observer: { display: THIS_SYSTEM }, type: [APPLICATION_SERVER] },
    ...(entity.length ? { entity } : {})
  }
}
