/**
 * The registry: every function tool, one line each. Tool names are derived from it (`ToolName`),
 * so a tool is its declaration in a domain file plus its line here (plus the agents that may call
 * it). Also what the model activity needs from it: the JSON schema derived from the zod parameters
 * and the one-line summary of a call for the Temporal UI.
 */
import { z } from 'zod';

import { getInvoice, processRefund } from './billing';
import type { ToolDefinition } from './define';
import { cancelOrder, getOrderStatus, trackShipment, updateShippingAddress } from './order';
import { createSupportTicket, searchHelpDocs } from './tech';

const DEFINITIONS = [
  getOrderStatus,
  trackShipment,
  cancelOrder,
  updateShippingAddress,
  processRefund,
  getInvoice,
  searchHelpDocs,
  createSupportTicket,
] as const;

/** Every function tool a model may be offered: the names in the registry. */
export type ToolName = (typeof DEFINITIONS)[number]['name'];
export const TOOL_NAMES: readonly ToolName[] = DEFINITIONS.map((d) => d.name);

export const TOOLS: Readonly<Record<ToolName, ToolDefinition>> = Object.fromEntries(
  DEFINITIONS.map((d) => [d.name, d]),
) as unknown as Record<ToolName, ToolDefinition>;
if (Object.keys(TOOLS).length !== DEFINITIONS.length)
  throw new Error(`two tools share a name: ${TOOL_NAMES.join(', ')}`);

export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(TOOLS, name);
}

/** A JSON schema for a function tool's `parameters`: always an object schema. */
export interface ToolJsonSchema {
  type: 'object';
  properties: Record<string, unknown>;
  required?: string[];
  [keyword: string]: unknown;
}

const schemaCache = new Map<ToolName, ToolJsonSchema>();

/**
 * The JSON schema the model is given for `name`, derived from its zod parameters. `io: 'input'`
 * describes what the model may send (`#12345` allowed, `priority` optional with its default)
 * rather than what execute receives. `$schema` is dropped: providers do not need it.
 */
export function toolJsonSchema(name: ToolName): ToolJsonSchema {
  let schema = schemaCache.get(name);
  if (!schema) {
    const derived: Record<string, unknown> = { ...z.toJSONSchema(TOOLS[name].parameters, { io: 'input' }) };
    delete derived.$schema;
    schema = { properties: {}, ...derived, type: 'object' } as ToolJsonSchema;
    schemaCache.set(name, schema);
  }
  return schema;
}

/**
 * The words after the tool's name in the Temporal UI for one call, from the tool's own `summary`
 * and the call's arguments; undefined when the tool is unknown, has no summary, or the arguments
 * do not parse (the call will be refused anyway). Never throws.
 */
export function toolCallSummary(name: string, argumentsJson: string): string | undefined {
  if (!isToolName(name)) return undefined;
  const def = TOOLS[name];
  try {
    const parsed = def.parameters.safeParse(argumentsJson.trim() === '' ? {} : JSON.parse(argumentsJson));
    return parsed.success ? def.summary?.(parsed.data) : undefined;
  } catch {
    return undefined;
  }
}
