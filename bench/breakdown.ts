/**
 * Where a desk turn's time goes, read from the conversation's Temporal history: from the workflow
 * task that accepted the `sendMessage` update to the update's completion, the time workflow tasks
 * waited to be dispatched, the time the worker took to run them, and the time activities (model
 * steps and tool calls) took from being scheduled to being recorded as completed. Pure: it reads
 * events, so it is unit-tested on made-up ones.
 */
/** A number or a protobuf Long: anything whose text is the number. */
type Id = { toString(): string } | number;

/** The parts of a history event (temporal.api.history.v1.IHistoryEvent) this reads. */
export interface Event {
  eventId?: Id | null;
  eventType?: number | null;
  eventTime?: { seconds?: Id | null; nanos?: number | null } | null;
  workflowTaskStartedEventAttributes?: { scheduledEventId?: Id | null } | null;
  workflowTaskCompletedEventAttributes?: { startedEventId?: Id | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: Id | null; startedEventId?: Id | null } | null;
  markerRecordedEventAttributes?: { markerName?: string | null } | null;
}

/** Event type numbers (temporal.api.enums.v1.EventType), kept here so the function needs no proto runtime. */
export const EVENT = {
  WORKFLOW_TASK_SCHEDULED: 5,
  WORKFLOW_TASK_STARTED: 6,
  WORKFLOW_TASK_COMPLETED: 7,
  ACTIVITY_TASK_SCHEDULED: 10,
  ACTIVITY_TASK_STARTED: 11,
  ACTIVITY_TASK_COMPLETED: 12,
  MARKER_RECORDED: 25,
  WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 41,
  WORKFLOW_EXECUTION_UPDATE_COMPLETED: 43,
} as const;

export interface TurnBreakdown {
  /** Update accepted to update completed, as the server recorded it. */
  serverMs: number;
  workflowTasks: number;
  /** Workflow task scheduled -> started: waiting to be dispatched to the worker. */
  workflowTaskDispatchMs: number;
  /** Workflow task started -> completed: the worker running the workflow code and replying. */
  workflowTaskRunMs: number;
  activities: number;
  /** Activity scheduled -> started: ~0 with eager execution. */
  activityDispatchMs: number;
  /** Activity started -> completed: running the model step or tool and reporting the result. */
  activityRunMs: number;
  /** Local activities the turn ran (their markers): they run inside "workflow task run". */
  localActivities: number;
}

/** The marker the SDK records for each local activity (a patch's marker has another name). */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

function ms(e: Event): number {
  const t = e.eventTime;
  if (!t) return NaN;
  return Number(String(t.seconds ?? 0)) * 1000 + (t.nanos ?? 0) / 1e6;
}

const id = (x: Id | null | undefined): number => (x === null || x === undefined ? NaN : Number(String(x)));

/** The breakdown of the turn whose update was accepted last in `events`; undefined if there is none. */
export function turnBreakdown(events: readonly Event[]): TurnBreakdown | undefined {
  const accepted = events.findLastIndex((e) => e.eventType === EVENT.WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
  if (accepted < 0) return undefined;
  const completedAt = events.findIndex(
    (e, i) => i > accepted && e.eventType === EVENT.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
  );
  if (completedAt < 0) return undefined;
  // The turn starts with the workflow task that accepted the update.
  const from = events.findLastIndex((e, i) => i < accepted && e.eventType === EVENT.WORKFLOW_TASK_SCHEDULED);
  const turn = events.slice(Math.max(from, 0), completedAt + 1);
  const byId = new Map(turn.map((e) => [id(e.eventId), e]));
  const out: TurnBreakdown = {
    serverMs: ms(events[completedAt]!) - ms(events[accepted]!),
    workflowTasks: 0,
    workflowTaskDispatchMs: 0,
    workflowTaskRunMs: 0,
    activities: 0,
    activityDispatchMs: 0,
    activityRunMs: 0,
    localActivities: 0,
  };
  for (const e of turn) {
    if (e.eventType === EVENT.WORKFLOW_TASK_STARTED) {
      const scheduled = byId.get(id(e.workflowTaskStartedEventAttributes?.scheduledEventId));
      if (scheduled) out.workflowTaskDispatchMs += ms(e) - ms(scheduled);
    } else if (e.eventType === EVENT.WORKFLOW_TASK_COMPLETED) {
      const started = byId.get(id(e.workflowTaskCompletedEventAttributes?.startedEventId));
      if (started) {
        out.workflowTasks++;
        out.workflowTaskRunMs += ms(e) - ms(started);
      }
    } else if (e.eventType === EVENT.MARKER_RECORDED) {
      if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) out.localActivities++;
    } else if (e.eventType === EVENT.ACTIVITY_TASK_COMPLETED) {
      const a = e.activityTaskCompletedEventAttributes;
      const scheduled = byId.get(id(a?.scheduledEventId));
      const started = byId.get(id(a?.startedEventId));
      if (scheduled && started) {
        out.activities++;
        out.activityDispatchMs += ms(started) - ms(scheduled);
        out.activityRunMs += ms(e) - ms(started);
      }
    }
  }
  return out;
}
