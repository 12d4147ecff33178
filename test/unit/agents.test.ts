/**
 * Registry invariants: the desk declared as data must be coherent before any model sees it.
 */
import { AGENTS, AGENT_NAMES, ENTRY_AGENT } from '../../agents';
import { TOOLS, TOOL_NAMES } from '../../activities/tools';
import { MUTATING_TOOLS } from '../../workflows/options';

describe('agent registry', () => {
  test('every agent is registered under its own name', () => {
    for (const name of AGENT_NAMES) expect(AGENTS[name].name).toBe(name);
    expect(Object.keys(AGENTS).sort()).toEqual([...AGENT_NAMES].sort());
  });

  test('every handoff target exists and no agent hands off to itself', () => {
    for (const agent of Object.values(AGENTS)) {
      for (const target of agent.handoffs) {
        expect(AGENT_NAMES).toContain(target);
        expect(target).not.toBe(agent.name);
      }
    }
  });

  test('every tool an agent lists has exactly one declaration', () => {
    for (const agent of Object.values(AGENTS)) for (const tool of agent.tools) expect(TOOLS[tool]?.name).toBe(tool);
    expect(Object.keys(TOOLS).sort()).toEqual([...TOOL_NAMES].sort());
  });

  test('every agent can be reached from the receptionist, and every specialist can get back', () => {
    const reachable = new Set([ENTRY_AGENT]);
    for (let changed = true; changed;) {
      changed = false;
      for (const a of reachable)
        for (const t of AGENTS[a].handoffs) if (!reachable.has(t)) (reachable.add(t), (changed = true));
    }
    expect([...reachable].sort()).toEqual([...AGENT_NAMES].sort());
    for (const agent of Object.values(AGENTS)) {
      if (agent.name !== ENTRY_AGENT) expect(agent.handoffs).toContain('receptionist');
    }
  });

  test('the design-named routes exist: order -> billing, billing -> order, tech -> receptionist', () => {
    expect(AGENTS.order.handoffs).toContain('billing');
    expect(AGENTS.billing.handoffs).toContain('order');
    expect(AGENTS.tech.handoffs).toContain('receptionist');
    expect(AGENTS.receptionist.tools).toEqual([]);
  });
});

test("the workflow's list of tools that change the shop is exactly the tools declared mutating", () => {
  const declared = TOOL_NAMES.filter((name) => TOOLS[name].mutating).sort();
  expect([...MUTATING_TOOLS].sort()).toEqual(declared);
  expect(declared).toContain('process_refund');
});
