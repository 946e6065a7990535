#include "core/error.h"

namespace ember {

void rethrow_with_prefix(const std::string& prefix) {
  try {
    throw;
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(prefix + e.what());
  } catch (const NotFound& e) {
    throw NotFound(prefix + e.what());
  } catch (const FailedPrecondition& e) {
    throw FailedPrecondition(prefix + e.what());
  } catch (const OutOfRange& e) {
    throw OutOfRange(prefix + e.what());
  } catch (const DataLoss& e) {
    throw DataLoss(prefix + e.what());
  } catch (const ResourceExhausted& e) {
    throw ResourceExhausted(prefix + e.what());
  } catch (const Unimplemented& e) {
    throw Unimplemented(prefix + e.what());
  } catch (const Internal& e) {
    throw Internal(prefix + e.what());
  } catch (const Error& e) {
    throw Error(prefix + e.what());
  }
}

}  // namespace ember
