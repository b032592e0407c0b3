/**
 * This node's view of which nodes are live: those whose entry in the node table
 * (`ClusterChannels.nodes()`) was renewed within `nodeTimeout`, as the table stood at this
 * node's latest heartbeat (the heartbeat script reads it anyway, to find the dead nodes to purge).
 * Judged by Redis's clock, in that script, so the nodes' own clocks never meet.
 *
 * The presence scripts get it as arguments: a share of a room's presence counts while its node
 * is in here (or wrote the share within `nodeTimeout`, which covers a node newer than this view).
 * Passing it in, rather than reading the node table inside the script, is what lets those
 * scripts run on Redis Cluster, where a script in a room's slot cannot read the table's key.
 * This node is always in its own view: it is live as long as it is running them.
 */
export class LiveNodes {
  private nodes: readonly string[];

  constructor(private readonly self: string) {
    this.nodes = [self];
  }

  /** The live node ids, this node's included. */
  get ids(): readonly string[] {
    return this.nodes;
  }

  /** The table was read: `live` is every node renewed within `nodeTimeout`, now. */
  update(live: readonly string[]): void {
    this.nodes = live.includes(this.self) ? live : [...live, this.self];
  }
}
