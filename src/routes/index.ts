import type { FastifyInstance } from 'fastify'
import health from './health/index.js'
import auth from './auth/index.js'
import home from './home/index.js'
import users from './settings/users/index.js'

export default async function routes (app: FastifyInstance): Promise<void> {
  await app.register(health)
  await app.register(auth)
  await app.register(home)
  await app.register(users, { prefix: '/settings/users' })
}
