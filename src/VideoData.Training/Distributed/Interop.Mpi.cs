using System.Runtime.InteropServices;

namespace VideoData.Training.Distributed;

/// <summary>
/// The few Open MPI 4.x C calls the collectives use (libmpi.so.40, Debian's <c>libopenmpi3</c>). Open MPI's
/// handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, …) are the addresses of exported globals
/// (<c>ompi_mpi_comm_world</c>, <c>ompi_mpi_float</c>, <c>ompi_mpi_op_sum</c>; mpi.h's
/// <c>OMPI_PREDEFINED_GLOBAL</c>), so they are looked up with <see cref="NativeLibrary.GetExport"/> once the library
/// is loaded (<see cref="MpiRuntime"/>), and passed as pointers. MPICH-family libraries use integer handles and a
/// different soname; they are refused at load with a message, not bound by accident.
/// </summary>
internal static unsafe partial class Interop
{
    internal static partial class Mpi
    {
        internal const string Library = "libmpi.so.40";

        /// <summary>The exported global whose address is <c>MPI_COMM_WORLD</c>.</summary>
        internal const string CommWorldSymbol = "ompi_mpi_comm_world";

        /// <summary>The exported global whose address is <c>MPI_FLOAT</c>.</summary>
        internal const string FloatSymbol = "ompi_mpi_float";

        /// <summary>The exported global whose address is <c>MPI_BYTE</c>.</summary>
        internal const string ByteSymbol = "ompi_mpi_byte";

        /// <summary>The exported global whose address is <c>MPI_SUM</c>.</summary>
        internal const string SumSymbol = "ompi_mpi_op_sum";

        /// <summary>The exported global whose address is <c>MPI_ERRORS_RETURN</c>.</summary>
        internal const string ErrorsReturnSymbol = "ompi_mpi_errors_return";

        /// <summary><c>MPI_SUCCESS</c>.</summary>
        internal const int Success = 0;

        /// <summary><c>MPI_THREAD_SERIALIZED</c> and <c>MPI_THREAD_MULTIPLE</c> (mpi.h's enum: SINGLE, FUNNELED, SERIALIZED, MULTIPLE).</summary>
        internal const int ThreadSerialized = 2;

        /// <inheritdoc cref="ThreadSerialized"/>
        internal const int ThreadMultiple = 3;

        /// <summary><c>MPI_MAX_ERROR_STRING</c> (OPAL_MAX_ERROR_STRING in Open MPI 4.1).</summary>
        internal const int MaxErrorString = 256;

        /// <summary><c>MPI_MAX_LIBRARY_VERSION_STRING</c> in Open MPI 4.1.</summary>
        internal const int MaxLibraryVersionString = 256;

        [LibraryImport(Library, EntryPoint = "MPI_Initialized")]
        internal static partial int Initialized(out int flag);

        [LibraryImport(Library, EntryPoint = "MPI_Finalized")]
        internal static partial int Finalized(out int flag);

        [LibraryImport(Library, EntryPoint = "MPI_Init_thread")]
        internal static partial int InitThread(nint argc, nint argv, int required, out int provided);

        [LibraryImport(Library, EntryPoint = "MPI_Finalize")]
        internal static partial int Finalize();

        [LibraryImport(Library, EntryPoint = "MPI_Abort")]
        internal static partial int Abort(nint comm, int errorCode);

        [LibraryImport(Library, EntryPoint = "MPI_Comm_rank")]
        internal static partial int CommRank(nint comm, out int rank);

        [LibraryImport(Library, EntryPoint = "MPI_Comm_size")]
        internal static partial int CommSize(nint comm, out int size);

        [LibraryImport(Library, EntryPoint = "MPI_Comm_set_errhandler")]
        internal static partial int CommSetErrhandler(nint comm, nint errhandler);

        [LibraryImport(Library, EntryPoint = "MPI_Error_string")]
        internal static partial int ErrorString(int errorCode, byte* text, out int length);

        [LibraryImport(Library, EntryPoint = "MPI_Get_library_version")]
        internal static partial int GetLibraryVersion(byte* text, out int length);

        [LibraryImport(Library, EntryPoint = "MPI_Barrier")]
        internal static partial int Barrier(nint comm);

        [LibraryImport(Library, EntryPoint = "MPI_Bcast")]
        internal static partial int Bcast(void* buffer, int count, nint datatype, int root, nint comm);

        [LibraryImport(Library, EntryPoint = "MPI_Allreduce")]
        internal static partial int Allreduce(void* sendBuffer, void* receiveBuffer, int count, nint datatype, nint op, nint comm);

        [LibraryImport(Library, EntryPoint = "MPI_Allgather")]
        internal static partial int Allgather(void* sendBuffer, int sendCount, nint sendType, void* receiveBuffer, int receiveCount, nint receiveType, nint comm);

        [LibraryImport(Library, EntryPoint = "MPI_Allgatherv")]
        internal static partial int Allgatherv(void* sendBuffer, int sendCount, nint sendType, void* receiveBuffer, int* receiveCounts, int* displacements, nint receiveType, nint comm);

        [LibraryImport(Library, EntryPoint = "MPI_Gatherv")]
        internal static partial int Gatherv(void* sendBuffer, int sendCount, nint sendType, void* receiveBuffer, int* receiveCounts, int* displacements, nint receiveType, int root, nint comm);

        /// <summary><c>MPI_IN_PLACE</c>: <c>((void *) 1)</c> in Open MPI's mpi.h.</summary>
        internal static void* InPlace => (void*)InPlaceValue;

        /// <summary>The value of <c>MPI_IN_PLACE</c>.</summary>
        internal const nint InPlaceValue = 1;
    }
}
