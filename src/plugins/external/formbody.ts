import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'

export default fp(async (app) => {
  await app.register(formbody, { bodyLimit: 1024 * 1024 })
}, { name: 'formbody' })
