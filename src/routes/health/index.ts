import type { FastifyInstance } from 'fastify'

export default async function health (app: FastifyInstance): Promise<void> {
  app.get('/health', {
    config: { recording: 'exempt' },
    schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } }
  }, async () => {
    await app.orm.em.getConnection().execute('select 1')
    return { status: 'ok' }
  })
}
