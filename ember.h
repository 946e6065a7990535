// ember: a C++20 deep-learning runtime with TensorFlow 2's programming model.
// One include for user programs.
#pragma once

#include "autograd/tape.h"
#include "core/build_info.h"
#include "core/context.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/op.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "core/variable.h"
#include "nn/initializers.h"
#include "nn/optimizers.h"
#include "nn/schedules.h"
#include "serialization/checkpoint.h"
#include "state/hash_table.h"
#include "state/module.h"
#include "state/trackable.h"
