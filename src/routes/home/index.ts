import type { FastifyInstance } from 'fastify'

export default async function home (app: FastifyInstance): Promise<void> {
  app.get('/', { config: { recording: 'exempt' }, preHandler: app.requireUser }, async (_request, reply) => reply.redirect('/patients'))
}
