import fp from 'fastify-plugin'
import { headsDirectory } from '../../config.js'
import { loadSigningKey, type ChainKey } from '../../domain/signed-heads/chain-key.js'
import { headsFile } from '../../domain/signed-heads/head-files.js'

export interface ChainSigning {
  key: ChainKey
  /** The directory outside the database where every practice's signed heads are copied. */
  dir: string
  /** Where verification looks for a practice's heads besides the database. */
  filesOf: (practiceGroupId: number) => Array<{ path: string, label: string }>
}

declare module 'fastify' {
  interface FastifyInstance {
    chainSigning: ChainSigning
  }
}

/** The key that signs chain heads (CHAIN_SIGNING_KEY, or one kept under DATA_DIR) and where the heads' copies go. */
export default fp<{ key?: ChainKey }>(async (app, opts) => {
  const key = opts.key ?? loadSigningKey(app.config.CHAIN_SIGNING_KEY, app.config.DATA_DIR)
  const dir = headsDirectory(app.config)
  app.decorate('chainSigning', { key, dir, filesOf: practiceGroupId => [{ path: headsFile(dir, practiceGroupId), label: 'the heads file' }] })
}, { name: 'chain-signing' })
