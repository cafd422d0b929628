using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using VideoData.Media.Native;

namespace VideoData.Media.Tests.Native;

/// <summary>Every FieldOffset the binding uses equals offsetof() from the installed FFmpeg headers.</summary>
public sealed class NativeLayoutTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-layout-").FullName;

    // Constants the converter passes to swscale, against their C names.
    private static readonly (string Name, int Value)[] Constants =
    [
        ("AV_PIX_FMT_YUV420P", Interop.AvUtil.PixelFormatYuv420P),
        ("AV_PIX_FMT_YUVJ420P", Interop.AvUtil.PixelFormatYuvj420P),
        ("AV_PIX_FMT_YUV422P", Interop.AvUtil.PixelFormatYuv422P),
        ("AV_PIX_FMT_RGB24", Interop.AvUtil.PixelFormatRgb24),
        ("SWS_BICUBIC", Interop.SwScale.Bicubic),
        ("SWS_ACCURATE_RND", Interop.SwScale.AccurateRounding),
    ];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void FieldOffsets_MatchInstalledHeaders()
    {
        var fields = typeof(AVFrame).Assembly.GetTypes()
            .Where(type => type.Namespace == typeof(AVFrame).Namespace && type.IsValueType && type.IsExplicitLayout)
            .SelectMany(type => type.GetFields(BindingFlags.Instance | BindingFlags.Public)
                .Select(field => (Struct: type.Name, Field: field.Name.Replace("__", ".", StringComparison.Ordinal), Offset: field.GetCustomAttribute<FieldOffsetAttribute>()!.Value)))
            .ToList();
        Assert.True(fields.Count > 50, $"only {fields.Count} fields found; the reflection query is wrong");

        var source = new StringBuilder();
        source.AppendLine("#include <stdio.h>\n#include <stddef.h>\n#include <libavformat/avformat.h>\n#include <libavcodec/avcodec.h>\n#include <libavutil/pixdesc.h>\n#include <libswscale/swscale.h>");
        source.AppendLine("int main(void) {");
        foreach (var (structName, field, _) in fields)
        {
            source.AppendLine($"    printf(\"{structName}.{field} %zu\\n\", offsetof({structName}, {field}));");
        }

        foreach (var (name, _) in Constants)
        {
            source.AppendLine($"    printf(\"{name} %d\\n\", (int){name});");
        }

        source.AppendLine("    printf(\"sizeof.AVIOInterruptCB %zu\\n\", sizeof(AVIOInterruptCB));");
        source.AppendLine("    printf(\"sizeof.AVRational %zu\\n\", sizeof(AVRational));");
        source.AppendLine("    return 0;\n}");
        var sourceFile = Path.Combine(_folder, "offsets.c");
        File.WriteAllText(sourceFile, source.ToString());
        var program = Path.Combine(_folder, "offsets");
        CCompiler.Compile(sourceFile, program);

        var native = CCompiler.Run(program)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => int.Parse(parts[1]));
        var mismatches = fields
            .Where(f => native[$"{f.Struct}.{f.Field}"] != f.Offset)
            .Select(f => $"{f.Struct}.{f.Field}: managed {f.Offset}, headers {native[$"{f.Struct}.{f.Field}"]}")
            .ToList();
        Assert.Empty(mismatches);
        Assert.All(Constants, c => Assert.True(native[c.Name] == c.Value, $"{c.Name}: managed {c.Value}, headers {native[c.Name]}"));
        Assert.Equal(Marshal.SizeOf<AVIOInterruptCB>(), native["sizeof.AVIOInterruptCB"]);
        Assert.Equal(Marshal.SizeOf<AVRational>(), native["sizeof.AVRational"]);
    }
}
