// The reductions that apply a shared reducer (kernels/reducers.h), listed
// once for both backends: each backend defines `reduce_numeric<Reducer>` and
// registers the list with
//   #define REG(OP, REDUCER) EMBER_REGISTER_KERNEL(op_name::OP, CPU, reduce_numeric<REDUCER>);
//   EMBER_REDUCER_OPS(REG)
// All, Any, ArgMax and ArgMin have kernels of their own and register apart.
#pragma once

// clang-format off
#define EMBER_REDUCER_OPS(X) \
  X(Sum, SumR)               \
  X(Mean, MeanR)             \
  X(Prod, ProdR)             \
  X(Max, MaxR)               \
  X(Min, MinR)
// clang-format on
