// Graph passes, run on a traced graph before the executor plans it. Each
// keeps the graph's meaning: stateful nodes are never removed, merged or
// evaluated ahead of time, and the arguments stay (they are the signature).
#pragma once

#include "graph/graph.h"

namespace ember::passes {

/// Uses of an Identity node's output read its input instead.
void remove_identities(Graph& g);
/// A stateless op whose inputs are all constants becomes a constant
/// (computed now, eagerly), up to `max_elements` elements of output.
void fold_constants(Graph& g, int64_t max_elements = int64_t{1} << 20);
/// Stateless op nodes with the same op, attributes and inputs, and constants
/// with the same dtype, shape and bytes, are merged into the first (never
/// two reads of a variable: an assignment may come between them).
void eliminate_common_subexpressions(Graph& g);
/// Removes what neither an output nor a stateful node needs (unused
/// captures included; arguments stay).
void remove_dead_nodes(Graph& g);
/// All four, in that order: what a ConcreteFunction runs before planning.
void optimize(Graph& g);

}  // namespace ember::passes
