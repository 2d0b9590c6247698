/** Node identities, the lowest layer of the protocol types. */

/** Stable name of a node (a StatefulSet pod name, `n1`, ...). Ring ownership is by NodeId. */
export type NodeId = string;

/** Where a node listens: `host:port` for gRPC, an opaque name under simulation. */
export type Address = string;
