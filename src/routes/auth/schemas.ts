export const loginQuery = {
  type: 'object',
  properties: { next: { type: 'string', maxLength: 2000 } }
} as const

export const loginBody = {
  type: 'object',
  required: ['email', 'password'],
  properties: {
    email: { type: 'string', maxLength: 1000 },
    password: { type: 'string', maxLength: 1000 },
    next: { type: 'string', maxLength: 2000 }
  }
} as const

export interface LoginBody {
  email: string
  password: string
  next?: string
}
