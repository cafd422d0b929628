using System.Runtime.InteropServices;
using VideoData.Core.Failures;
using VideoData.Media.Native;

namespace VideoData.Media.Decode;

/// <summary>
/// Turns a decoded frame into one size×size RGB24 output frame the way the reference filter chain
/// does: rotate losslessly in the source pixel format (the CLI's transpose/hflip+vflip), scale to
/// the reference size and convert to RGB24 in one swscale call with the scale filter's defaults
/// (bicubic; colour matrix and range taken from the frame), then crop. Not thread-safe.
/// </summary>
internal sealed unsafe class FrameConverter : IDisposable
{
    private readonly ScaleGeometry _geometry;
    private readonly int _quarterTurns;
    private readonly string _inputName;
    private readonly byte[] _scaled;
    private readonly GCHandle _scaledPin;
    private ScaleContextHandle? _scale;
    private (int Width, int Height, int Format) _scaleKey;
    private (int Colorspace, int Range) _colorKey;
    private FrameHandle? _rotated;

    public FrameConverter(ScaleGeometry geometry, int quarterTurns, string inputName)
    {
        _geometry = geometry;
        _quarterTurns = quarterTurns;
        _inputName = inputName;
        _scaled = new byte[geometry.ScaledWidth * geometry.ScaledHeight * 3];
        _scaledPin = GCHandle.Alloc(_scaled, GCHandleType.Pinned);
    }

    public void Dispose()
    {
        _scale?.Dispose();
        _rotated?.Dispose();
        _scaledPin.Free();
    }

    /// <summary>Writes the output frame (Size·Size·3 bytes) for <paramref name="frame"/> into <paramref name="destination"/>.</summary>
    public void Convert(AVFrame* frame, Span<byte> destination)
    {
        var source = _quarterTurns == 0 ? frame : Rotate(frame);
        var scale = ScaleContextFor(source);
        var stride = _geometry.ScaledWidth * 3;
        var scaled = (byte*)_scaledPin.AddrOfPinnedObject();
        var dst = stackalloc byte*[4] { scaled, null, null, null };
        var dstStride = stackalloc int[4] { stride, 0, 0, 0 };
        var lines = Interop.SwScale.Scale(scale, (byte**)source->data, source->linesize, 0, source->height, dst, dstStride);
        if (lines <= 0)
        {
            throw new FfmpegException(FailureClass.Decode, $"{_inputName}: sws_scale produced no output for a {source->width}×{source->height} frame (decode)", lines, "sws_scale");
        }

        var size = _geometry.Size;
        var rowBytes = size * 3;
        for (var row = 0; row < size; row++)
        {
            _scaled.AsSpan(((row + _geometry.CropY) * stride) + (_geometry.CropX * 3), rowBytes).CopyTo(destination.Slice(row * rowBytes, rowBytes));
        }
    }

    private void* ScaleContextFor(AVFrame* frame)
    {
        var key = (frame->width, frame->height, frame->format);
        if (_scale is null || key != _scaleKey)
        {
            _scale?.Dispose();
            var context = Interop.SwScale.GetContext(frame->width, frame->height, frame->format, _geometry.ScaledWidth, _geometry.ScaledHeight,
                Interop.AvUtil.PixelFormatRgb24, Interop.SwScale.Bicubic, null, null, null);
            if (context is null)
            {
                throw new VideoDataException(FailureClass.Decode,
                    $"{_inputName}: cannot convert {Interop.AvUtil.PixelFormatName(frame->format)} {frame->width}×{frame->height} to RGB24 (sws_getContext failed) (decode)");
            }

            _scale = new ScaleContextHandle(context);
            _scaleKey = key;
            _colorKey = (-1, -1);
        }

        // As the scale filter does per frame: the input matrix from the frame's colorspace
        // (unknown values mean BT.601) and the input range from the frame when it says.
        var colorspace = frame->colorspace is < 1 or > 10 or 8 ? 5 : frame->colorspace;
        var colorKey = (colorspace, frame->color_range);
        if (colorKey != _colorKey)
        {
            int* inverseTable, table;
            int sourceRange, destinationRange, brightness, contrast, saturation;
            Interop.SwScale.GetColorspaceDetails(_scale.Pointer, &inverseTable, &sourceRange, &table, &destinationRange, &brightness, &contrast, &saturation);
            var coefficients = Interop.SwScale.GetCoefficients(colorspace);
            if (frame->color_range != Interop.AvUtil.ColorRangeUnspecified)
            {
                sourceRange = frame->color_range == Interop.AvUtil.ColorRangeJpeg ? 1 : 0;
            }

            Interop.SwScale.SetColorspaceDetails(_scale.Pointer, coefficients, sourceRange, coefficients, destinationRange, brightness, contrast, saturation);
            _colorKey = colorKey;
        }

        return _scale.Pointer;
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
