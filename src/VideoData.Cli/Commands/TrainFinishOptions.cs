using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using VideoData.Training.Model;
using VideoData.Training.Trainer;

namespace VideoData.Cli.Commands;

/// <summary>
/// <c>videodata train</c>'s options about the output folder and what is left in it: <c>--overwrite</c> (start a fresh run
/// over an old one) and <c>--export-pth</c> / <c>--export-safetensors</c> (the trained weights for PyTorch and others).
/// </summary>
internal static class FinishOptions
{
    /// <summary>The values given on one command line.</summary>
    internal sealed record Values(bool Overwrite, FileInfo? Pth, FileInfo? Safetensors);

    /// <summary>Adds the options to <paramref name="command"/> and returns a reader for them.</summary>
    public static Reader AddTo(Command command)
    {
        var overwrite = new Option<bool>("--overwrite")
        {
            Description = "Start a fresh run even though the output folder holds another run: its checkpoints, plans, embeddings, alignment tables and "
                + "train-log.jsonl are deleted first (other files are left alone). Without it, a fresh run (no --resume) into such a folder is refused.",
        };
        var pth = new Option<FileInfo?>("--export-pth")
        {
            Description = "When training ends (or stops at --stop-after-steps), write the model's state dict as a PyTorch .pth "
                + "(torch.load returns an OrderedDict of float32 tensors under this tool's names). With --resume on a finished run it only exports.",
            HelpName = "FILE",
        };
        var safetensors = new Option<FileInfo?>("--export-safetensors")
        {
            Description = "Likewise, as safetensors (metadata: epoch, global step, model sizes).",
            HelpName = "FILE",
        };
        command.Options.Add(overwrite);
        command.Options.Add(pth);
        command.Options.Add(safetensors);
        return new Reader(overwrite, pth, safetensors);
    }

    /// <summary>
    /// A fresh run's output folder: refused when it holds another run (<see cref="TrainingOutput.EnsureFresh"/>), or cleared
    /// of that run first with <paramref name="overwrite"/>.
    /// </summary>
    public static void PrepareFreshOutput(string outputDirectory, bool overwrite, TextWriter human)
    {
        if (!overwrite)
        {
            TrainingOutput.EnsureFresh(outputDirectory);
            return;
        }

        var removed = TrainingOutput.Clear(outputDirectory);
        if (removed.Count > 0)
        {
            human.WriteLine($"--overwrite: removed the previous run's {string.Join(", ", removed.Select(Path.GetFileName))} from {outputDirectory}");
        }
    }

    /// <summary>Writes the exports asked for, from the trainer's current weights; says so on <paramref name="human"/> (stderr under --json).</summary>
    public static void Export(VideoClipTrainer trainer, Values values, Action<object> log, TextWriter human)
    {
        if (values.Pth is null && values.Safetensors is null)
        {
            return;
        }

        var state = trainer.State;
        if (values.Pth is { } pth)
        {
            ModelExport.WritePth(trainer.Model, pth.FullName);
            Report(pth.FullName, "pth");
        }

        if (values.Safetensors is { } safetensors)
        {
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["format"] = "pt",
                ["producer"] = "videodata train",
                ["epoch"] = state.Epoch.ToString(CultureInfo.InvariantCulture),
                ["next_step"] = state.NextStep.ToString(CultureInfo.InvariantCulture),
                ["global_step"] = state.GlobalStep.ToString(CultureInfo.InvariantCulture),
                ["seed"] = state.Seed.ToString(CultureInfo.InvariantCulture),
                ["model"] = JsonSerializer.Serialize(state.Model, TrainingJson),
            };
            ModelExport.WriteSafetensors(trainer.Model, safetensors.FullName, metadata);
            Report(safetensors.FullName, "safetensors");
        }

        void Report(string path, string format)
        {
            human.WriteLine($"exported the model's state dict ({format}, global step {state.GlobalStep}) to {path}");
            log(new { kind = "export", format, path, global_step = state.GlobalStep });
        }
    }

    private static readonly JsonSerializerOptions TrainingJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Reads the options' values from a parse result.</summary>
    internal sealed class Reader(Option<bool> overwrite, Option<FileInfo?> pth, Option<FileInfo?> safetensors)
    {
        /// <summary>The values; throws <see cref="ArgumentException"/> for combinations that make no sense.</summary>
        public Values Read(ParseResult parseResult, bool resume)
        {
            var values = new Values(parseResult.GetValue(overwrite), parseResult.GetValue(pth), parseResult.GetValue(safetensors));
            if (values.Overwrite && resume)
            {
                throw new ArgumentException("--overwrite starts a fresh run and --resume continues the existing one: give one of them.");
            }

            return values;
        }
    }
}
