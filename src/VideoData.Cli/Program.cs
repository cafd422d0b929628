using System.CommandLine;
using VideoData.Cli.Commands;
using VideoData.Features.Runtime;

var root = new RootCommand("videodata: turns narrated-video corpora into training data for video-text models.")
{
    DemoCommand.Create(),
    PreprocessCommand.Create(),
    DoctorCommand.Create(),
    LsCommand.Create(),
    ShardsCommand.Create(),
    ProbeCommand.Create(),
    DecodeCommand.Create(),
    FeaturesCommand.Create(),
    InspectCommand.Create(),
    TrainCommand.Create(),
    CaptionsCommand.Create(),
    ClusterCommand.Create(),
    PlanCommand.Create(),
    ClipsCommand.Create(),

    StatusCommand.Create(),
    ReportCommand.Create(),
};

// The main thread runs the encoder's forward passes (see MainThreadWorker: glibc reuses large freed blocks only in the
// main thread's arena); the command itself runs on the thread pool.
return MainThreadWorker.Serve(() => root.Parse(args).InvokeAsync());
