// Every op's name, spelled once: TensorFlow's raw op name, by family (the
// family is the file name an op has in every layer: core/ops/F.cpp,
// kernels/cpu/F.cpp, kernels/cuda/F.cu, autograd/grad_F.cpp, tests/F_test.cpp).
// Definitions, kernels, gradients and front-ends refer to these constants, so
// a misspelt name is a compile error rather than an orphan registry slot.
#pragma once

namespace ember::op_name {

// elementwise
inline constexpr char Neg[] = "Neg";
inline constexpr char Abs[] = "Abs";
inline constexpr char Sign[] = "Sign";
inline constexpr char Exp[] = "Exp";
inline constexpr char Log[] = "Log";
inline constexpr char Log1p[] = "Log1p";
inline constexpr char Expm1[] = "Expm1";
inline constexpr char Sqrt[] = "Sqrt";
inline constexpr char Rsqrt[] = "Rsqrt";
inline constexpr char Square[] = "Square";
inline constexpr char Reciprocal[] = "Reciprocal";
inline constexpr char Sin[] = "Sin";
inline constexpr char Cos[] = "Cos";
inline constexpr char Tan[] = "Tan";
inline constexpr char Asin[] = "Asin";
inline constexpr char Acos[] = "Acos";
inline constexpr char Atan[] = "Atan";
inline constexpr char Sinh[] = "Sinh";
inline constexpr char Cosh[] = "Cosh";
inline constexpr char Asinh[] = "Asinh";
inline constexpr char Acosh[] = "Acosh";
inline constexpr char Atanh[] = "Atanh";
inline constexpr char Tanh[] = "Tanh";
inline constexpr char Sigmoid[] = "Sigmoid";
inline constexpr char Relu[] = "Relu";
inline constexpr char Gelu[] = "Gelu";
inline constexpr char ReluGrad[] = "ReluGrad";
inline constexpr char GeluGrad[] = "GeluGrad";  // ember's own: gelu's adjoint in one pass
inline constexpr char LeakyRelu[] = "LeakyRelu";
inline constexpr char Elu[] = "Elu";
inline constexpr char Selu[] = "Selu";
inline constexpr char Softplus[] = "Softplus";
inline constexpr char Erf[] = "Erf";
inline constexpr char Erfc[] = "Erfc";
inline constexpr char Softsign[] = "Softsign";
inline constexpr char Lgamma[] = "Lgamma";
inline constexpr char Digamma[] = "Digamma";
inline constexpr char Erfinv[] = "Erfinv";
inline constexpr char Floor[] = "Floor";
inline constexpr char Ceil[] = "Ceil";
inline constexpr char Round[] = "Round";
inline constexpr char LogicalNot[] = "LogicalNot";
inline constexpr char Cast[] = "Cast";
inline constexpr char StopGradient[] = "StopGradient";
inline constexpr char Identity[] = "Identity";
inline constexpr char Print[] = "Print";
inline constexpr char AddV2[] = "AddV2";
inline constexpr char Sub[] = "Sub";
inline constexpr char Mul[] = "Mul";
inline constexpr char RealDiv[] = "RealDiv";
inline constexpr char Div[] = "Div";
inline constexpr char Pow[] = "Pow";
inline constexpr char Maximum[] = "Maximum";
inline constexpr char Minimum[] = "Minimum";
inline constexpr char FloorDiv[] = "FloorDiv";
inline constexpr char FloorMod[] = "FloorMod";
inline constexpr char TruncateDiv[] = "TruncateDiv";
inline constexpr char TruncateMod[] = "TruncateMod";
inline constexpr char Atan2[] = "Atan2";
inline constexpr char DivNoNan[] = "DivNoNan";
inline constexpr char Xdivy[] = "Xdivy";
inline constexpr char Xlogy[] = "Xlogy";
inline constexpr char Xlog1py[] = "Xlog1py";
inline constexpr char Polygamma[] = "Polygamma";
inline constexpr char Zeta[] = "Zeta";
inline constexpr char CheckNumerics[] = "CheckNumerics";
inline constexpr char Check[] = "Check";  // ember's own: x once a condition holds
inline constexpr char Assert[] = "Assert";  // (TensorFlow's: Check is exported as one; imported as Checks)
inline constexpr char Equal[] = "Equal";
inline constexpr char NotEqual[] = "NotEqual";
inline constexpr char Less[] = "Less";
inline constexpr char LessEqual[] = "LessEqual";
inline constexpr char Greater[] = "Greater";
inline constexpr char GreaterEqual[] = "GreaterEqual";
inline constexpr char LogicalAnd[] = "LogicalAnd";
inline constexpr char LogicalOr[] = "LogicalOr";
inline constexpr char BiasAdd[] = "BiasAdd";
inline constexpr char BiasAddGrad[] = "BiasAddGrad";
inline constexpr char SelectV2[] = "SelectV2";
inline constexpr char BitwiseAnd[] = "BitwiseAnd";
inline constexpr char BitwiseOr[] = "BitwiseOr";
inline constexpr char BitwiseXor[] = "BitwiseXor";
inline constexpr char LeftShift[] = "LeftShift";
inline constexpr char RightShift[] = "RightShift";
inline constexpr char Invert[] = "Invert";
inline constexpr char PopulationCount[] = "PopulationCount";

// reduce
inline constexpr char Sum[] = "Sum";
inline constexpr char Mean[] = "Mean";
inline constexpr char Max[] = "Max";
inline constexpr char Min[] = "Min";
inline constexpr char Prod[] = "Prod";
inline constexpr char All[] = "All";
inline constexpr char Any[] = "Any";
inline constexpr char ArgMax[] = "ArgMax";
inline constexpr char ArgMin[] = "ArgMin";
inline constexpr char Cumsum[] = "Cumsum";
inline constexpr char Cumprod[] = "Cumprod";
inline constexpr char CumulativeLogsumexp[] = "CumulativeLogsumexp";

// linalg
inline constexpr char Cholesky[] = "Cholesky";
inline constexpr char MatrixTriangularSolve[] = "MatrixTriangularSolve";
inline constexpr char MatrixSolve[] = "MatrixSolve";
inline constexpr char MatrixInverse[] = "MatrixInverse";
inline constexpr char MatrixDeterminant[] = "MatrixDeterminant";
inline constexpr char LogMatrixDeterminant[] = "LogMatrixDeterminant";
inline constexpr char Qr[] = "Qr";
inline constexpr char SelfAdjointEigV2[] = "SelfAdjointEigV2";
inline constexpr char Svd[] = "Svd";

// matmul
inline constexpr char MatMul[] = "MatMul";
inline constexpr char BatchMatMulV2[] = "BatchMatMulV2";
inline constexpr char Einsum[] = "Einsum";  // (imported as einsum()'s ops)
inline constexpr char MatrixBandPart[] = "MatrixBandPart";  // (imported as a mask and a select)
inline constexpr char ReverseV2[] = "ReverseV2";  // (imported as reverse()'s strided slice)
inline constexpr char ResizeBilinear[] = "ResizeBilinear";  // (imported as gathers and lerps)
inline constexpr char Roll[] = "Roll";                      // (imported as roll()'s gathers)
inline constexpr char IsNan[] = "IsNan";                    // (these three: comparisons, is_nan() ...)
inline constexpr char IsInf[] = "IsInf";
inline constexpr char IsFinite[] = "IsFinite";
inline constexpr char BroadcastArgs[] = "BroadcastArgs";    // (imported as a select of the padded shapes)
inline constexpr char DenseBincount[] = "DenseBincount";    // (imported as summed one-hot rows)
inline constexpr char MatrixDiagV3[] = "MatrixDiagV3";      // (these three, of one diagonal: a mask, a gather and a select)
inline constexpr char MatrixDiagPartV3[] = "MatrixDiagPartV3";
inline constexpr char MatrixSetDiagV3[] = "MatrixSetDiagV3";
inline constexpr char ResizeNearestNeighbor[] = "ResizeNearestNeighbor";  // (imported as gathers)
inline constexpr char ResizeBicubic[] = "ResizeBicubic";  // (imported as gathers and TensorFlow's weighted sums)
// The resizes' gradients in TensorFlow's gradient graphs (imported as the
// adjoints of the imported resizes, taken by a tape)
inline constexpr char ResizeBilinearGrad[] = "ResizeBilinearGrad";
inline constexpr char ResizeNearestNeighborGrad[] = "ResizeNearestNeighborGrad";
inline constexpr char ResizeBicubicGrad[] = "ResizeBicubicGrad";
// The 3-D windows' gradients (imported as the adjoints of the imported
// Conv3D, MaxPool3D and AvgPool3D, taken by a tape; Conv3DBackpropInputV2
// is also Keras's Conv3DTranspose)
inline constexpr char Conv3DBackpropInputV2[] = "Conv3DBackpropInputV2";
inline constexpr char Conv3DBackpropFilterV2[] = "Conv3DBackpropFilterV2";
inline constexpr char MaxPool3DGrad[] = "MaxPool3DGrad";
inline constexpr char AvgPool3DGrad[] = "AvgPool3DGrad";
inline constexpr char ExtractImagePatches[] = "ExtractImagePatches";  // (imported as strided slices, concatenated)
inline constexpr char CropAndResize[] = "CropAndResize";  // (imported as gathers and lerps)
inline constexpr char ConcatOffset[] = "ConcatOffset";  // (imported as masked running sums: ConcatV2's gradient)
inline constexpr char SpaceToDepth[] = "SpaceToDepth";      // (these two: a reshape, a transpose and a reshape)
inline constexpr char DepthToSpace[] = "DepthToSpace";
inline constexpr char TensorScatterUpdate[] = "TensorScatterUpdate";  // (imported as scatters and a select)
inline constexpr char ReverseSequence[] = "ReverseSequence";  // (imported as a gather of each row's reversed prefix)
inline constexpr char LowerBound[] = "LowerBound";            // (these two, tf.searchsorted: counts of comparisons)
inline constexpr char UpperBound[] = "UpperBound";
inline constexpr char Conv3D[] = "Conv3D";        // (these three: a 2-D op per tap of the depth window, summed or reduced)
inline constexpr char MaxPool3D[] = "MaxPool3D";
inline constexpr char AvgPool3D[] = "AvgPool3D";
inline constexpr char Bucketize[] = "Bucketize";          // (imported as a count of the boundaries at or below x)
inline constexpr char Rint[] = "Rint";                      // (imported as round(): both round half to even)
inline constexpr char PreventGradient[] = "PreventGradient";  // (imported as identity())
inline constexpr char SegmentSum[] = "SegmentSum";  // (these five, sorted ids: the unsorted ones of last id + 1 segments)
inline constexpr char SegmentMean[] = "SegmentMean";
inline constexpr char SegmentMax[] = "SegmentMax";
inline constexpr char SegmentMin[] = "SegmentMin";
inline constexpr char SegmentProd[] = "SegmentProd";
inline constexpr char Cross[] = "Cross";                                  // (imported as slices' products)
inline constexpr char LRN[] = "LRN";                                      // (imported as a sum of channel slices)
inline constexpr char HistogramFixedWidth[] = "HistogramFixedWidth";      // (imported as a segment sum of ones)

// softmax
inline constexpr char Softmax[] = "Softmax";
inline constexpr char LogSoftmax[] = "LogSoftmax";
inline constexpr char SoftmaxCrossEntropyWithLogits[] = "SoftmaxCrossEntropyWithLogits";
inline constexpr char SparseSoftmaxCrossEntropyWithLogits[] = "SparseSoftmaxCrossEntropyWithLogits";

// attention (ember's own: TensorFlow has no such ops; exported as its ops)
inline constexpr char ScaledDotProductAttention[] = "ScaledDotProductAttention";
inline constexpr char ScaledDotProductAttentionGrad[] = "ScaledDotProductAttentionGrad";
inline constexpr char LayerNorm[] = "LayerNorm";
inline constexpr char LayerNormGrad[] = "LayerNormGrad";

// collective: across the processes of a distributed run (TensorFlow's
// collective ops; CollectiveBroadcast is ember's own, exported as a
// CollectiveReduceV2)
inline constexpr char CollectiveReduceV2[] = "CollectiveReduceV2";
inline constexpr char CollectiveGatherV2[] = "CollectiveGatherV2";
inline constexpr char CollectiveReduceScatterV2[] = "CollectiveReduceScatterV2";
inline constexpr char CollectiveBroadcast[] = "CollectiveBroadcast";

// shape
inline constexpr char Reshape[] = "Reshape";
inline constexpr char ExpandDims[] = "ExpandDims";
inline constexpr char Squeeze[] = "Squeeze";
inline constexpr char Transpose[] = "Transpose";
inline constexpr char Slice[] = "Slice";
inline constexpr char StridedSlice[] = "StridedSlice";
inline constexpr char StridedSliceGrad[] = "StridedSliceGrad";
inline constexpr char ConcatV2[] = "ConcatV2";
inline constexpr char Pack[] = "Pack";
inline constexpr char Unpack[] = "Unpack";
inline constexpr char SplitV[] = "SplitV";
inline constexpr char Tile[] = "Tile";
inline constexpr char PadV2[] = "PadV2";
inline constexpr char BroadcastTo[] = "BroadcastTo";
inline constexpr char Where[] = "Where";
inline constexpr char Unique[] = "Unique";
inline constexpr char BroadcastGradientArgs[] = "BroadcastGradientArgs";
inline constexpr char Fill[] = "Fill";
inline constexpr char Snapshot[] = "Snapshot";
inline constexpr char EnsureShape[] = "EnsureShape";
inline constexpr char ZerosLike[] = "ZerosLike";
inline constexpr char OnesLike[] = "OnesLike";
inline constexpr char Shape[] = "Shape";
inline constexpr char Rank[] = "Rank";
inline constexpr char Size[] = "Size";

// index
inline constexpr char GatherV2[] = "GatherV2";
inline constexpr char GatherNd[] = "GatherNd";
inline constexpr char ScatterNd[] = "ScatterNd";
inline constexpr char TensorScatterAdd[] = "TensorScatterAdd";
inline constexpr char UnsortedSegmentSum[] = "UnsortedSegmentSum";
inline constexpr char UnsortedSegmentMax[] = "UnsortedSegmentMax";
inline constexpr char UnsortedSegmentMin[] = "UnsortedSegmentMin";
inline constexpr char UnsortedSegmentProd[] = "UnsortedSegmentProd";
inline constexpr char OneHot[] = "OneHot";
inline constexpr char Range[] = "Range";
inline constexpr char MirrorPad[] = "MirrorPad";
inline constexpr char MirrorPadGrad[] = "MirrorPadGrad";

// random
inline constexpr char RandomUniform[] = "RandomUniform";
inline constexpr char RandomStandardNormal[] = "RandomStandardNormal";
inline constexpr char TruncatedNormal[] = "TruncatedNormal";
inline constexpr char StatelessRandomUniform[] = "StatelessRandomUniform";
inline constexpr char StatelessRandomNormal[] = "StatelessRandomNormal";
inline constexpr char StatelessTruncatedNormal[] = "StatelessTruncatedNormal";
inline constexpr char Multinomial[] = "Multinomial";
inline constexpr char StatelessMultinomial[] = "StatelessMultinomial";
inline constexpr char RandomUniformInt[] = "RandomUniformInt";
inline constexpr char StatelessRandomUniformInt[] = "StatelessRandomUniformInt";
inline constexpr char RandomShuffle[] = "RandomShuffle";
inline constexpr char RandomGamma[] = "RandomGamma";
inline constexpr char StatelessRandomGammaV2[] = "StatelessRandomGammaV2";
inline constexpr char RandomGammaGrad[] = "RandomGammaGrad";
inline constexpr char RandomPoissonV2[] = "RandomPoissonV2";
inline constexpr char StatelessRandomPoisson[] = "StatelessRandomPoisson";
inline constexpr char StatelessRandomUniformFullInt[] = "StatelessRandomUniformFullInt";
inline constexpr char StatelessRandomBinomial[] = "StatelessRandomBinomial";
inline constexpr char StatelessDropout[] = "StatelessDropout";  // ember's own: stateless_dropout in one pass
// tf.random.Generator's draws, from the stream in its state variable
inline constexpr char StatefulUniform[] = "StatefulUniform";
inline constexpr char StatefulStandardNormalV2[] = "StatefulStandardNormalV2";
inline constexpr char StatefulTruncatedNormal[] = "StatefulTruncatedNormal";
inline constexpr char StatefulUniformInt[] = "StatefulUniformInt";
inline constexpr char StatefulUniformFullInt[] = "StatefulUniformFullInt";
// imported only: tf.random.Generator's read of its state (graph_import.cpp)
inline constexpr char RngReadAndSkip[] = "RngReadAndSkip";
inline constexpr char Bitcast[] = "Bitcast";

// variable
inline constexpr char ReadVariableOp[] = "ReadVariableOp";
inline constexpr char AssignVariableOp[] = "AssignVariableOp";
inline constexpr char AssignAddVariableOp[] = "AssignAddVariableOp";
inline constexpr char AssignSubVariableOp[] = "AssignSubVariableOp";


// conv
inline constexpr char Conv2D[] = "Conv2D";
inline constexpr char Conv2DBackpropInput[] = "Conv2DBackpropInput";
inline constexpr char Conv2DBackpropFilter[] = "Conv2DBackpropFilter";
inline constexpr char DepthwiseConv2dNative[] = "DepthwiseConv2dNative";
inline constexpr char DepthwiseConv2dNativeBackpropInput[] = "DepthwiseConv2dNativeBackpropInput";
inline constexpr char DepthwiseConv2dNativeBackpropFilter[] = "DepthwiseConv2dNativeBackpropFilter";

// pool
inline constexpr char MaxPool[] = "MaxPool";
inline constexpr char MaxPoolGrad[] = "MaxPoolGrad";
inline constexpr char AvgPool[] = "AvgPool";
inline constexpr char AvgPoolGrad[] = "AvgPoolGrad";

// sort
inline constexpr char TopKV2[] = "TopKV2";
inline constexpr char InTopKV2[] = "InTopKV2";

// image
inline constexpr char NonMaxSuppressionV5[] = "NonMaxSuppressionV5";
inline constexpr char ImageProjectiveTransformV3[] = "ImageProjectiveTransformV3";

// norm
inline constexpr char FusedBatchNormV3[] = "FusedBatchNormV3";
inline constexpr char FusedBatchNormGradV3[] = "FusedBatchNormGradV3";

// optimizer: fused updates of a variable and its slots (TensorFlow's training ops)
inline constexpr char ResourceApplyGradientDescent[] = "ResourceApplyGradientDescent";
inline constexpr char ResourceApplyKerasMomentum[] = "ResourceApplyKerasMomentum";
inline constexpr char ResourceApplyAdam[] = "ResourceApplyAdam";
inline constexpr char ResourceApplyRMSProp[] = "ResourceApplyRMSProp";
inline constexpr char ResourceApplyCenteredRMSProp[] = "ResourceApplyCenteredRMSProp";
inline constexpr char ResourceApplyAdagradV2[] = "ResourceApplyAdagradV2";
// The same updates with the gradient as rows (IndexedSlices): ember's own ops.
inline constexpr char ResourceApplyGradientDescentRows[] = "ResourceApplyGradientDescentRows";
inline constexpr char ResourceApplyKerasMomentumRows[] = "ResourceApplyKerasMomentumRows";
inline constexpr char ResourceApplyAdamRows[] = "ResourceApplyAdamRows";
inline constexpr char ResourceApplyRMSPropRows[] = "ResourceApplyRMSPropRows";
inline constexpr char ResourceApplyCenteredRMSPropRows[] = "ResourceApplyCenteredRMSPropRows";
inline constexpr char ResourceApplyAdagradV2Rows[] = "ResourceApplyAdagradV2Rows";

// control_flow: functional control flow (branches and bodies are traced functions)
inline constexpr char If[] = "If";
inline constexpr char StatelessIf[] = "StatelessIf";
inline constexpr char Case[] = "Case";  // (imported as a chain of conds)
inline constexpr char StatelessCase[] = "StatelessCase";
inline constexpr char While[] = "While";
inline constexpr char StatelessWhile[] = "StatelessWhile";
inline constexpr char PartitionedCall[] = "PartitionedCall";
inline constexpr char StatefulPartitionedCall[] = "StatefulPartitionedCall";

// list: TensorList values (variant tensors), TensorArray's state and a loop gradient's accumulators
inline constexpr char TensorListReserve[] = "TensorListReserve";
inline constexpr char TensorListFromTensor[] = "TensorListFromTensor";
inline constexpr char TensorListSetItem[] = "TensorListSetItem";
inline constexpr char TensorListGetItem[] = "TensorListGetItem";
inline constexpr char TensorListStack[] = "TensorListStack";
inline constexpr char TensorListGather[] = "TensorListGather";
inline constexpr char TensorListScatterIntoExistingList[] = "TensorListScatterIntoExistingList";
inline constexpr char TensorListSplit[] = "TensorListSplit";
inline constexpr char TensorListConcatV2[] = "TensorListConcatV2";
inline constexpr char TensorListLength[] = "TensorListLength";
inline constexpr char TensorListElementShape[] = "TensorListElementShape";
inline constexpr char TensorListResize[] = "TensorListResize";
inline constexpr char TensorListPushBack[] = "TensorListPushBack";
inline constexpr char TensorListPopBack[] = "TensorListPopBack";
inline constexpr char AddN[] = "AddN";

// TensorFlow's ops that ember has no OpDef for: graph nodes of their own
// kind (Placeholder, Const), and what an import runs as other ops
// (serialization/graph_import.cpp).
inline constexpr char Placeholder[] = "Placeholder";
inline constexpr char Const[] = "Const";
inline constexpr char IdentityN[] = "IdentityN";
inline constexpr char NoOp[] = "NoOp";
inline constexpr char Pad[] = "Pad";
inline constexpr char Select[] = "Select";
inline constexpr char Split[] = "Split";
inline constexpr char SquaredDifference[] = "SquaredDifference";
inline constexpr char Relu6[] = "Relu6";
inline constexpr char L2Loss[] = "L2Loss";
// tf.image.non_max_suppression's older ops (NonMaxSuppressionV5 with no
// soft suppression).
inline constexpr char NonMaxSuppression[] = "NonMaxSuppression";
inline constexpr char NonMaxSuppressionV2[] = "NonMaxSuppressionV2";
inline constexpr char NonMaxSuppressionV3[] = "NonMaxSuppressionV3";
inline constexpr char NonMaxSuppressionV4[] = "NonMaxSuppressionV4";
// Keras's RandomRotation, RandomZoom and RandomTranslation before fill_value
// (ImageProjectiveTransformV3 with a fill value of 0).
inline constexpr char ImageProjectiveTransformV2[] = "ImageProjectiveTransformV2";
// tf.image.rgb_to_hsv and hsv_to_rgb (imported as ember's elementwise ops)
inline constexpr char RGBToHSV[] = "RGBToHSV";
inline constexpr char HSVToRGB[] = "HSVToRGB";
// What TensorFlow's gradient graphs hold (a training step saved with its
// tape): the activations' gradient ops, and the shape bookkeeping of
// reductions', gathers' and loops' gradients.
inline constexpr char SigmoidGrad[] = "SigmoidGrad";
inline constexpr char TanhGrad[] = "TanhGrad";
inline constexpr char RsqrtGrad[] = "RsqrtGrad";
inline constexpr char SqrtGrad[] = "SqrtGrad";
inline constexpr char ReciprocalGrad[] = "ReciprocalGrad";
inline constexpr char EluGrad[] = "EluGrad";
inline constexpr char SeluGrad[] = "SeluGrad";
inline constexpr char LeakyReluGrad[] = "LeakyReluGrad";
inline constexpr char Relu6Grad[] = "Relu6Grad";
inline constexpr char SoftplusGrad[] = "SoftplusGrad";
inline constexpr char SoftsignGrad[] = "SoftsignGrad";
inline constexpr char ShapeN[] = "ShapeN";
inline constexpr char VariableShape[] = "VariableShape";
inline constexpr char DynamicStitch[] = "DynamicStitch";
inline constexpr char ParallelDynamicStitch[] = "ParallelDynamicStitch";
inline constexpr char InvertPermutation[] = "InvertPermutation";
inline constexpr char EmptyTensorList[] = "EmptyTensorList";
// tf.random.stateless_*'s ops since TensorFlow 2.7: the seed's Philox key
// and counter, then a draw from them (uint64 tensors, which ember lacks:
// imported together, as the draw from the seed).
inline constexpr char StatelessRandomGetKeyCounter[] = "StatelessRandomGetKeyCounter";
inline constexpr char StatelessRandomUniformV2[] = "StatelessRandomUniformV2";
inline constexpr char StatelessRandomNormalV2[] = "StatelessRandomNormalV2";
inline constexpr char StatelessTruncatedNormalV2[] = "StatelessTruncatedNormalV2";
inline constexpr char StatelessRandomUniformIntV2[] = "StatelessRandomUniformIntV2";
inline constexpr char StatelessRandomGammaV3[] = "StatelessRandomGammaV3";
inline constexpr char StatelessRandomUniformFullIntV2[] = "StatelessRandomUniformFullIntV2";

}  // namespace ember::op_name
