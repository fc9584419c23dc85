import type { FastifyServerOptions } from 'fastify'
import { parseId, parseWholeNumber } from '../domain/plain-numbers.js'

/**
 * Schema keywords for numbers in addresses, query strings and forms. Each
 * takes a string of plain digits (see parseWholeNumber) and hands the route
 * a number, so nothing downstream reads "1e2" as 100 or "0x10" as 16.
 *
 * - `wholeNumber: { minimum, maximum }`: a 400 otherwise.
 * - `recordId: 'patient'`: the id of a patient (or whatever is named); in
 *   the address, anything else is a 404 for no such patient.
 */

type AjvPlugin = NonNullable<NonNullable<FastifyServerOptions['ajv']>['plugins']>[number]
type Ajv = Parameters<Extract<AjvPlugin, (...args: never[]) => unknown>>[0]
type KeywordDefinition = Exclude<Parameters<Ajv['addKeyword']>[0], string>

interface KeywordError { keyword: string, message: string, params: Record<string, unknown> }

export const RECORD_ID_KEYWORD = 'recordId'

function convertingKeyword (keyword: string, schemaType: 'object' | 'string', read: (schema: unknown, text: string) => { value: number } | KeywordError): KeywordDefinition {
  const validate = (schema: unknown, data: string, _parentSchema?: unknown, context?: { parentData?: Record<string | number, unknown>, parentDataProperty?: string | number }): boolean => {
    const result = read(schema, data)
    if (!('value' in result)) {
      validate.errors = [result]
      return false
    }
    if (context?.parentData && context.parentDataProperty !== undefined) context.parentData[context.parentDataProperty] = result.value
    return true
  }
  validate.errors = [] as KeywordError[]
  return { keyword, type: 'string', schemaType, modifying: true, errors: true, validate }
}

const wholeNumberKeyword = convertingKeyword('wholeNumber', 'object', (schema, text) => {
  const range = schema as { minimum: number, maximum: number }
  const value = parseWholeNumber(text, range.minimum, range.maximum)
  return value === null
    ? { keyword: 'wholeNumber', message: `must be a whole number from ${range.minimum} to ${range.maximum}, in plain digits`, params: range }
    : { value }
})

const recordIdKeyword = convertingKeyword(RECORD_ID_KEYWORD, 'string', (noun, text) => {
  const value = parseId(text)
  return value === null ? { keyword: RECORD_ID_KEYWORD, message: `is not the id of any ${String(noun)}`, params: { noun } } : { value }
})

/** Adds the keywords to the app's schema validator. */
export function plainNumberKeywords (ajv: Ajv): Ajv {
  ajv.addKeyword(wholeNumberKeyword)
  ajv.addKeyword(recordIdKeyword)
  return ajv
}

export const wholeNumber = (minimum: number, maximum: number) => ({ type: 'string', wholeNumber: { minimum, maximum } }) as const

export const recordIdParams = (noun: string) => ({
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', [RECORD_ID_KEYWORD]: noun } }
}) as const
