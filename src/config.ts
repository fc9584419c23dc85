import envSchema from 'env-schema'
import { join } from 'node:path'
import { Cron } from 'croner'
import { StartUpError } from './start-up-error.js'
import { DEFAULT_PLACE_DIR } from './db/embedded-postgres.js'

export interface Config {
  NODE_ENV: 'development' | 'production' | 'test'
  HOST: string
  PORT: number
  DATABASE_URL?: string
  APP_DATABASE_URL?: string
  KEEPER_DATABASE_URL?: string
  EMBEDDED_PG_PORT: number
  EMBEDDED_PG_DIR: string
  DATA_DIR: string
  SESSION_SECRET: string
  TRUST_PROXY: string
  LOG_LEVEL: string
  SIGN_IN_MAX_FAILURES: number
  SIGN_IN_LOCK_MINUTES: number
  SIGN_IN_MAX_FAILURES_PER_IP: number
  SIGN_IN_ATTEMPTS_PER_MINUTE: number
  JOBS_SCHEDULE: string
  SEAL_SCHEDULE: string
  DELIVERY_SCHEDULE: string
  PAYMENT_PROVIDER: 'test' | 'none'
  CHAIN_SIGNING_KEY?: string
  HEADS_DIR?: string
  METRICS_TOKEN?: string
  SHUTDOWN_GRACE_SECONDS: number
}

const DEVELOPMENT_SESSION_SECRET = 'development-only-secret-change-me-in-production'

const schema = {
  type: 'object',
  required: [],
  properties: {
    NODE_ENV: { type: 'string', enum: ['development', 'production', 'test'], default: 'development' },
    HOST: { type: 'string', default: '127.0.0.1', minLength: 1 },
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 3000 },
    DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
    APP_DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
    KEEPER_DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
    EMBEDDED_PG_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 54329 },
    EMBEDDED_PG_DIR: { type: 'string', default: DEFAULT_PLACE_DIR, pattern: '^/' },
    DATA_DIR: { type: 'string', default: '.data', minLength: 1 },
    SESSION_SECRET: { type: 'string', default: DEVELOPMENT_SESSION_SECRET, minLength: 32 },
    TRUST_PROXY: { type: 'string', default: '' },
    LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    SIGN_IN_MAX_FAILURES: { type: 'integer', minimum: 1, default: 10 },
    SIGN_IN_LOCK_MINUTES: { type: 'integer', minimum: 1, default: 15 },
    SIGN_IN_MAX_FAILURES_PER_IP: { type: 'integer', minimum: 1, default: 50 },
    SIGN_IN_ATTEMPTS_PER_MINUTE: { type: 'integer', minimum: 1, default: 30 },
    JOBS_SCHEDULE: { type: 'string', default: '*/15 * * * *', minLength: 1 },
    SEAL_SCHEDULE: { type: 'string', default: '*/30 * * * * *', minLength: 1 },
    DELIVERY_SCHEDULE: { type: 'string', default: '*/5 * * * * *', minLength: 1 },
    PAYMENT_PROVIDER: { type: 'string', enum: ['test', 'none'] },
    CHAIN_SIGNING_KEY: { type: 'string', minLength: 1 },
    HEADS_DIR: { type: 'string', minLength: 1 },
    // Long enough that guessing it is hopeless: `openssl rand -hex 32` gives 64 characters.
    METRICS_TOKEN: { type: 'string', minLength: 32 },
    SHUTDOWN_GRACE_SECONDS: { type: 'integer', minimum: 0, maximum: 3600, default: 20 }
  }
} as const

export class ConfigError extends StartUpError {}

/** Reads and validates the configuration once; every problem is named in one message. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  let config: Config
  try {
    config = envSchema<Config>({ schema, data: { ...env }, dotenv: false })
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message}`)
  }
  // Free credits must never be the production default: there, the test provider is an explicit choice.
  config.PAYMENT_PROVIDER ??= config.NODE_ENV === 'production' ? 'none' : 'test'
  for (const name of ['JOBS_SCHEDULE', 'SEAL_SCHEDULE', 'DELIVERY_SCHEDULE'] as const) {
    if (config[name] === 'off') continue
    try {
      new Cron(config[name], { paused: true }).stop()
    } catch (err) {
      throw new ConfigError(`Invalid configuration: ${name} "${config[name]}" is not a cron pattern (${(err as Error).message})`)
    }
  }
  if (Boolean(config.APP_DATABASE_URL) !== Boolean(config.KEEPER_DATABASE_URL)) {
    throw new ConfigError('Invalid configuration: set both APP_DATABASE_URL and KEEPER_DATABASE_URL, or neither (the app then manages its roles with the owner\'s DATABASE_URL)')
  }
  if (config.NODE_ENV === 'production' && config.SESSION_SECRET === DEVELOPMENT_SESSION_SECRET) {
    throw new ConfigError('Invalid configuration: SESSION_SECRET must be set to a private value of at least 32 characters in production')
  }
  if (config.NODE_ENV === 'production' && !config.CHAIN_SIGNING_KEY) {
    throw new ConfigError('Invalid configuration: CHAIN_SIGNING_KEY must name the Ed25519 private key (PEM) that signs chain heads in production; keep it off the database server (openssl genpkey -algorithm ed25519 -out chain-signing-key.pem)')
  }
  return config
}

/** Where copies of the signed chain heads are kept outside the database. */
export function headsDirectory (config: Config): string {
  return config.HEADS_DIR ?? join(config.DATA_DIR, 'heads')
}

/** Fastify's trustProxy option: off, or the proxy addresses / CIDR ranges that may set X-Forwarded-For. */
export function trustedProxies (config: Config): string[] | false {
  const list = config.TRUST_PROXY.split(',').map(s => s.trim()).filter(Boolean)
  return list.length > 0 ? list : false
}
