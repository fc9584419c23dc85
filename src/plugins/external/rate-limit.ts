import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'

/**
 * Request limits for the routes that ask for one in `config.rateLimit`,
 * counted per client address as Fastify sees it, so TRUST_PROXY decides
 * whether a forwarded address is believed. Each app server counts alone.
 */
export default fp(async (app) => {
  await app.register(rateLimit, { global: false })
}, { name: 'rate-limit' })
