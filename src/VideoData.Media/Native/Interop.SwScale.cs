using System.Runtime.InteropServices;

namespace VideoData.Media.Native;

internal static unsafe partial class Interop
{
    internal static partial class SwScale
    {
        internal const int Bicubic = 4;
        internal const int AccurateRounding = 0x40000;

        [LibraryImport(Libraries.SwScale, EntryPoint = "swscale_version")]
        internal static partial uint Version();

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_getContext")]
        internal static partial void* GetContext(int srcW, int srcH, int srcFormat, int dstW, int dstH, int dstFormat, int flags, void* srcFilter, void* dstFilter, double* param);

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_freeContext")]
        internal static partial void FreeContext(void* context);

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_scale")]
        internal static partial int Scale(void* context, byte** src, int* srcStride, int srcSliceY, int srcSliceH, byte** dst, int* dstStride);

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_getCoefficients")]
        internal static partial int* GetCoefficients(int colorspace);

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_getColorspaceDetails")]
        internal static partial int GetColorspaceDetails(void* context, int** invTable, int* srcRange, int** table, int* dstRange, int* brightness, int* contrast, int* saturation);

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_setColorspaceDetails")]
        internal static partial int SetColorspaceDetails(void* context, int* invTable, int srcRange, int* table, int dstRange, int brightness, int contrast, int saturation);
    }
}
