import { recordIdParams } from '../../plain-numbers.js'

export const endpointIdParams = recordIdParams('integration endpoint')

export interface EndpointIdParams { id: number }

/** Longer than any address the form accepts, so an over-long one gets its message beside the field; far longer is refused outright. */
export const endpointBody = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 1000 }, url: { type: 'string', maxLength: 10_000 } }
} as const

export interface EndpointBody { name?: string, url?: string }
