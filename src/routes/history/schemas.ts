export const exportParams = {
  type: 'object',
  required: ['format'],
  properties: { format: { type: 'string', enum: ['csv', 'ndjson'] } }
} as const

export interface ExportParams { format: 'csv' | 'ndjson' }
