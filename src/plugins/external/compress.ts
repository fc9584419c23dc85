import fp from 'fastify-plugin'
import fastifyCompress from '@fastify/compress'

/**
 * Compresses what the app sends to clients that accept it: pages, htmx
 * fragments, the stylesheet, htmx itself (52 KB, 17 KB compressed) and
 * exports as they stream. It joins each route as the route is declared, so
 * it is registered before any route. Request bodies are never decompressed:
 * forms are small, and a compressed body could unpack far past the body
 * limit.
 */
export default fp(async (app) => {
  await app.register(fastifyCompress, { globalDecompression: false })
}, { name: 'compress' })
