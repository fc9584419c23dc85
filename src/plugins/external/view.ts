import { join } from 'node:path'
import fp from 'fastify-plugin'
import view from '@fastify/view'
import { Eta } from 'eta'
import { projectRoot } from '../../paths.js'
import { viewHelpers } from '../../views/helpers.js'

export default fp(async (app) => {
  await app.register(view, {
    engine: { eta: new Eta({ autoEscape: true, autoTrim: false }) },
    root: join(projectRoot, 'views'),
    viewExt: 'eta',
    production: app.config.NODE_ENV === 'production',
    defaultContext: { helpers: viewHelpers }
  })
}, { name: 'view' })
