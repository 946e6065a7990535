// The process group: which process of a distributed run this is.
//
// A process started by `mpirun -np N` (OpenMPI, MPICH) or Slurm's `srun` is
// one of N ranks, and MPI carries the collectives (core/collective.h)
// between them; any other process is a world of one and needs no MPI at
// all. MPI starts on first use, on a thread of its own that makes every MPI
// call, so a collective can run while the caller computes (the gradient
// buckets of distribute/strategy.h) and a caller can stop waiting.
//
// Faults end in bounded time with an error, never a hang: a collective the
// other ranks do not answer within the timeout throws DeadlineExceeded
// naming the collective and this rank; ranks that call different
// collectives (another kind, dtype, shape or root) all throw InvalidArgument
// naming what each rank called (with its label); a rank that dies or ends on an uncaught
// exception takes the job down through MPI_Abort, its error printed with
// its rank. After a timeout MPI is abandoned: the process aborts the job at
// exit instead of waiting in MPI_Finalize. A GPU collective (NCCL) returns
// once queued on the stream; the watchdog (watchdog.h) holds it to the same
// timeout and aborts the communicator and the job when it is exceeded.
#pragma once

namespace ember::distribute {

/// This process's rank (0 without a launcher), the number of ranks, and
/// its rank and their number on this machine (one GPU per local rank).
int rank();
int size();
int local_rank();
int local_size();
/// Rank 0: the one that writes checkpoints and prints progress.
inline bool is_chief() { return rank() == 0; }

/// Seconds a collective waits for the other ranks before DeadlineExceeded:
/// 60 unless the environment's EMBER_COLLECTIVE_TIMEOUT or this says otherwise.
void set_timeout(double seconds);
double timeout();

/// Whether ranks compare every collective (its kind, dtype, shape and
/// root) before they exchange data: on by default; the cost is one small
/// all-reduce per collective.
void set_check_consistency(bool check);

/// Whether this build can run distributed (it was built with MPI).
bool built_with_mpi();

}  // namespace ember::distribute
