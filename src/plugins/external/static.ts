import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
import { projectRoot } from '../../paths.js'

const htmxDist = dirname(createRequire(import.meta.url).resolve('htmx.org'))

/** Our stylesheet and icons, and htmx straight from its package so upgrades need no copying. */
export default fp(async (app) => {
  await app.register(fastifyStatic, { root: join(projectRoot, 'public'), prefix: '/public/', maxAge: '1h' })
  await app.register(fastifyStatic, { root: htmxDist, prefix: '/vendor/htmx/', decorateReply: false, allowedPath: (path) => path === '/htmx.min.js', maxAge: '1d' })
}, { name: 'static' })
