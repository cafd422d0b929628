using System.Runtime.InteropServices;
using VideoData.Core.Failures;
using VideoData.Media.Native;

namespace VideoData.Media.Decode;

/// <summary>
/// Turns a decoded frame into one size×size RGB24 output frame the way the reference filter chain
/// does: rotate losslessly in the source pixel format (the CLI's transpose/hflip+vflip), scale to
/// the reference size and convert to RGB24 with the scale filter's defaults (bicubic; colour matrix
/// and range taken from the frame), then crop. Not thread-safe.
/// <para>
/// The CLI does the scale and the conversion in one swscale call over the whole scaled frame (398×224 for
/// 640×360), and the crop then drops 44 % of what that call's scalar RGB24 output stage computed. For 8-bit 4:2:0
/// input (nearly every video) this converter gets the same bytes with less work in two passes: scale to planar
/// 4:2:2 at the scaled size (the same horizontal and vertical filters; 4:2:2 is the chroma grid the RGB24 output
/// stage works on), then convert only the crop's columns to RGB24 with the same colour tables. Both passes use
/// swscale's exact rounding (SWS_ACCURATE_RND), without which its SIMD vertical filter rounds differently.
/// Other input formats, and scaled frames of odd width (which swscale converts with full-resolution chroma), take
/// the single call.
/// </para>
/// </summary>
internal sealed unsafe class FrameConverter : IDisposable
{
    private readonly ScaleGeometry _geometry;
    private readonly int _quarterTurns;
    private readonly string _inputName;
    private readonly bool _singlePass;
    private readonly ScalePass _scale;
    private readonly ScalePass _toRgb;
    private byte[]? _buffer;
    private GCHandle _bufferPin;
    private FrameHandle? _rotated;

    /// <param name="singlePass">Always convert in the CLI's single call (tests compare the two ways).</param>
    public FrameConverter(ScaleGeometry geometry, int quarterTurns, string inputName, bool singlePass = false)
    {
        _geometry = geometry;
        _quarterTurns = quarterTurns;
        _inputName = inputName;
        _singlePass = singlePass;
        _scale = new ScalePass(inputName);
        _toRgb = new ScalePass(inputName);
    }

    public void Dispose()
    {
        _scale.Dispose();
        _toRgb.Dispose();
        _rotated?.Dispose();
        if (_bufferPin.IsAllocated)
        {
            _bufferPin.Free();
        }
    }

    /// <summary>Writes the output frame (Size·Size·3 bytes) for <paramref name="frame"/> into <paramref name="destination"/>.</summary>
    public void Convert(AVFrame* frame, Span<byte> destination)
    {
        var source = _quarterTurns == 0 ? frame : Rotate(frame);
        // swscale converts an odd-width RGB24 output with full-resolution chroma, which the 4:2:2 pass does not reproduce.
        var twoPasses = !_singlePass && _geometry.ScaledWidth % 2 == 0
            && source->format is Interop.AvUtil.PixelFormatYuv420P or Interop.AvUtil.PixelFormatYuvj420P;
        if (twoPasses)
        {
            ConvertInTwoPasses(source, destination);
        }
        else
        {
            ConvertInOnePass(source, destination);
        }
    }

    private void ConvertInOnePass(AVFrame* source, Span<byte> destination)
    {
        var g = _geometry;
        var stride = g.ScaledWidth * 3;
        var scaled = WorkBuffer(stride * g.ScaledHeight);
        var context = _scale.For(source, g.ScaledWidth, g.ScaledHeight, Interop.AvUtil.PixelFormatRgb24, Interop.SwScale.Bicubic);
        var dst = stackalloc byte*[4] { scaled, null, null, null };
        var dstStride = stackalloc int[4] { stride, 0, 0, 0 };
        Scale(context, (byte**)source->data, source->linesize, source->height, dst, dstStride, source);
        Crop(scaled, stride, g.CropX, g.CropY, destination);
    }

    private void ConvertInTwoPasses(AVFrame* source, Span<byte> destination)
    {
        const int Flags = Interop.SwScale.Bicubic | Interop.SwScale.AccurateRounding;
        var g = _geometry;

        // Pass 1: planar 4:2:2 at the scaled size, in the frame's own range (no range conversion between YUV formats).
        var lumaStride = Align(g.ScaledWidth);
        var chromaStride = Align((g.ScaledWidth + 1) / 2);
        var planeBytes = (lumaStride + (2 * chromaStride)) * g.ScaledHeight;

        // Pass 2 converts whole pixel pairs (two pixels share one chroma sample), so an odd crop starts a column early.
        var left = g.CropX & ~1;
        var width = (g.Size + (g.CropX - left) + 1) & ~1;
        var rgbStride = width * 3;
        var buffer = WorkBuffer(planeBytes + (rgbStride * g.Size));

        var scale = _scale.For(source, g.ScaledWidth, g.ScaledHeight, Interop.AvUtil.PixelFormatYuv422P, Flags);
        var y = buffer;
        var u = y + (lumaStride * g.ScaledHeight);
        var v = u + (chromaStride * g.ScaledHeight);
        var planes = stackalloc byte*[4] { y, u, v, null };
        var planeStrides = stackalloc int[4] { lumaStride, chromaStride, chromaStride, 0 };
        Scale(scale, (byte**)source->data, source->linesize, source->height, planes, planeStrides, source);

        // Pass 2: the crop's rows and columns (rounded out to pairs) to RGB24 with the frame's matrix and range.
        var toRgb = _toRgb.For(width, g.Size, Interop.AvUtil.PixelFormatYuv422P, _scale.Colorspace, _scale.SourceRange, width, g.Size, Interop.AvUtil.PixelFormatRgb24, Flags);
        var window = stackalloc byte*[4] { y + (g.CropY * lumaStride) + left, u + (g.CropY * chromaStride) + (left / 2), v + (g.CropY * chromaStride) + (left / 2), null };
        var rgb = buffer + planeBytes;
        var dst = stackalloc byte*[4] { rgb, null, null, null };
        var dstStride = stackalloc int[4] { rgbStride, 0, 0, 0 };
        Scale(toRgb, window, planeStrides, g.Size, dst, dstStride, source);
        Crop(rgb, rgbStride, g.CropX - left, 0, destination);
    }

    private static int Align(int bytes) => (bytes + 63) & ~63;

    /// <summary>The converter's pinned work buffer, at least <paramref name="bytes"/> long (plus room for SIMD over-reads).</summary>
    private byte* WorkBuffer(int bytes)
    {
        if (_buffer is null || _buffer.Length < bytes + 64)
        {
            if (_bufferPin.IsAllocated)
            {
                _bufferPin.Free();
            }

            _buffer = GC.AllocateUninitializedArray<byte>(bytes + 64);
            _bufferPin = GCHandle.Alloc(_buffer, GCHandleType.Pinned);
        }

        return (byte*)_bufferPin.AddrOfPinnedObject();
    }

    private void Scale(void* context, byte** src, int* srcStride, int srcHeight, byte** dst, int* dstStride, AVFrame* frame)
    {
        var lines = Interop.SwScale.Scale(context, src, srcStride, 0, srcHeight, dst, dstStride);
        if (lines <= 0)
        {
            throw new FfmpegException(FailureClass.Decode, $"{_inputName}: sws_scale produced no output for a {frame->width}×{frame->height} frame (decode)", lines, "sws_scale");
        }
    }

    private void Crop(byte* rgb, int stride, int cropX, int cropY, Span<byte> destination)
    {
        var size = _geometry.Size;
        var rowBytes = size * 3;
        for (var row = 0; row < size; row++)
        {
            new ReadOnlySpan<byte>(rgb + ((row + cropY) * stride) + (cropX * 3), rowBytes).CopyTo(destination.Slice(row * rowBytes, rowBytes));
        }
    }

    /// <summary>
    /// One swscale context, rebuilt when its input changes, with the colour details the scale filter sets per frame.
    /// A YUV output stays in the input's range (no range conversion between YUV formats); RGB24 gets swscale's default.
    /// </summary>
    private sealed class ScalePass(string inputName) : IDisposable
    {
        private ScaleContextHandle? _context;
        private (int Width, int Height, int Format, int DstWidth, int DstHeight, int DstFormat, int Flags) _key;
        private (int Colorspace, int Range) _colorKey;

        /// <summary>The matrix (AVColorSpace, unknown values as BT.601) the last call used.</summary>
        public int Colorspace { get; private set; }

        /// <summary>The input range (1 full, 0 limited) the last call used.</summary>
        public int SourceRange { get; private set; }

        public void* For(AVFrame* frame, int dstWidth, int dstHeight, int dstFormat, int flags) =>
            For(frame->width, frame->height, frame->format, frame->colorspace, frame->color_range == Interop.AvUtil.ColorRangeUnspecified ? -1 : frame->color_range == Interop.AvUtil.ColorRangeJpeg ? 1 : 0,
                dstWidth, dstHeight, dstFormat, flags);

        /// <param name="range">1 full, 0 limited, -1 unspecified (the input format's default: full for yuvj formats).</param>
        public void* For(int width, int height, int format, int colorspace, int range, int dstWidth, int dstHeight, int dstFormat, int flags)
        {
            var key = (width, height, format, dstWidth, dstHeight, dstFormat, flags);
            if (_context is null || key != _key)
            {
                _context?.Dispose();
                _context = null;
                var context = Interop.SwScale.GetContext(width, height, format, dstWidth, dstHeight, dstFormat, flags, null, null, null);
                if (context is null)
                {
                    throw new VideoDataException(FailureClass.Decode,
                        $"{inputName}: cannot convert {Interop.AvUtil.PixelFormatName(format)} {width}×{height} to {Interop.AvUtil.PixelFormatName(dstFormat)} (sws_getContext failed) (decode)");
                }

                _context = new ScaleContextHandle(context);
                _key = key;
                _colorKey = (-1, -2);
            }

            // As the scale filter does per frame: the input matrix from the frame's colorspace
            // (unknown values mean BT.601) and the input range from the frame when it says.
            colorspace = colorspace is < 1 or > 10 or 8 ? 5 : colorspace;
            if ((colorspace, range) != _colorKey)
            {
                int* inverseTable, table;
                int sourceRange, destinationRange, brightness, contrast, saturation;
                Interop.SwScale.GetColorspaceDetails(_context.Pointer, &inverseTable, &sourceRange, &table, &destinationRange, &brightness, &contrast, &saturation);
                var coefficients = Interop.SwScale.GetCoefficients(colorspace);
                if (range >= 0)
                {
                    sourceRange = range;
                }

                Interop.SwScale.SetColorspaceDetails(_context.Pointer, coefficients, sourceRange, coefficients, dstFormat == Interop.AvUtil.PixelFormatRgb24 ? destinationRange : sourceRange, brightness, contrast, saturation);
                _colorKey = (colorspace, range);
                Colorspace = colorspace;
                SourceRange = sourceRange;
            }

            return _context.Pointer;
        }

        public void Dispose() => _context?.Dispose();
    }

    private AVFrame* Rotate(AVFrame* frame)
    {
        var descriptor = Interop.AvUtil.PixelFormatDescriptorGet(frame->format);
        const ulong Unsupported = Interop.AvUtil.PixelFormatFlagBitstream | Interop.AvUtil.PixelFormatFlagHwAccel | Interop.AvUtil.PixelFormatFlagPalette;
        if (descriptor is null || (descriptor->flags & Unsupported) != 0 || (_quarterTurns % 2 == 1 && descriptor->log2_chroma_w != descriptor->log2_chroma_h))
        {
            throw new VideoDataException(FailureClass.Decode,
                $"{_inputName}: rotating {Interop.AvUtil.PixelFormatName(frame->format)} frames is not supported (only planar formats with equal horizontal and vertical chroma subsampling) (decode)");
        }

        var turned = _quarterTurns % 2 == 1;
        var width = turned ? frame->height : frame->width;
        var height = turned ? frame->width : frame->height;
        _rotated ??= FrameHandle.Allocate();
        var rotated = _rotated.Pointer;
        if (rotated->width != width || rotated->height != height || rotated->format != frame->format)
        {
            Interop.AvUtil.FrameUnref(rotated);
            rotated->width = width;
            rotated->height = height;
            rotated->format = frame->format;
            FfmpegException.Check(Interop.AvUtil.FrameGetBuffer(rotated, 32), FailureClass.Decode, _inputName, "av_frame_get_buffer");
        }

        rotated->colorspace = frame->colorspace;
        rotated->color_range = frame->color_range;
        var elementSizes = stackalloc int[4];
        FfmpegException.Check(Interop.AvUtil.ImageFillLinesizes(elementSizes, frame->format, 1), FailureClass.Decode, _inputName, "av_image_fill_linesizes");
        var planes = Interop.AvUtil.PixelFormatCountPlanes(frame->format);
        for (var plane = 0; plane < planes; plane++)
        {
            var chroma = plane is 1 or 2;
            var planeWidth = chroma ? -((-frame->width) >> descriptor->log2_chroma_w) : frame->width;
            var planeHeight = chroma ? -((-frame->height) >> descriptor->log2_chroma_h) : frame->height;
            RotatePlane(
                (byte*)frame->data[plane], frame->linesize[plane], planeWidth, planeHeight,
                (byte*)rotated->data[plane], rotated->linesize[plane], elementSizes[plane], _quarterTurns);
        }

        return rotated;
    }

    /// <summary>
    /// Rotates one plane clockwise by quarter turns, element by element, with the CLI's mappings:
    /// transpose=clock out(r,c)=in(h−1−c,r); hflip+vflip out(r,c)=in(h−1−r,w−1−c); transpose=cclock out(r,c)=in(c,w−1−r).
    /// </summary>
    internal static void RotatePlane(byte* source, int sourceStride, int width, int height, byte* destination, int destinationStride, int elementSize, int quarterTurns)
    {
        var outWidth = quarterTurns % 2 == 1 ? height : width;
        var outHeight = quarterTurns % 2 == 1 ? width : height;
        for (var r = 0; r < outHeight; r++)
        {
            var outRow = destination + ((long)r * destinationStride);
            for (var c = 0; c < outWidth; c++)
            {
                var (sr, sc) = quarterTurns switch
                {
                    1 => (height - 1 - c, r),
                    2 => (height - 1 - r, width - 1 - c),
                    _ => (c, width - 1 - r),
                };
                var from = source + ((long)sr * sourceStride) + ((long)sc * elementSize);
                var to = outRow + ((long)c * elementSize);
                switch (elementSize)
                {
                    case 1:
                        *to = *from;
                        break;
                    case 2:
                        *(ushort*)to = *(ushort*)from;
                        break;
                    default:
                        Buffer.MemoryCopy(from, to, elementSize, elementSize);
                        break;
                }
            }
        }
    }
}
