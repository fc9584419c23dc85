import type { Agent } from './agent.js'

/** Creates a practice record as its user would, opening the form and saving it, and returns the new record's id. */
export async function createdRecord (agent: Agent, path: string, form: Record<string, string>): Promise<number> {
  await agent.get(`${path}/new`)
  const response = await agent.post(path, form)
  if (response.statusCode !== 303) throw new Error(`${path} was not created: ${response.statusCode} ${response.body}`)
  return Number(new RegExp(`${path}/(\\d+)`).exec(String(response.headers.location))![1])
}
