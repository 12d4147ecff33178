/**
 * The desk's registry: every agent by name. The workflow and the model activity both read it;
 * it is pure data, safe in the workflow sandbox.
 */
import { billing } from './billing';
import { order } from './order';
import { receptionist } from './receptionist';
import { tech } from './tech';
import type { AgentName, AgentSpec } from './types';

export * from './types';

export const AGENTS: Readonly<Record<AgentName, AgentSpec>> = { receptionist, order, billing, tech };

/** The agent every conversation starts with and every rollback returns to. */
export const ENTRY_AGENT: AgentName = 'receptionist';
