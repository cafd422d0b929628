using System.CommandLine;
using VideoData.Cli.Commands;
using VideoData.Features.Runtime;

// The main thread runs libtorch work (ComputeThread: glibc reuses large freed blocks only in the main thread's arena);
// the commands that compute get it and start their compute host on it, and the command itself runs on the thread pool.
var mainThread = ComputeThread.ForCurrentThread();
var root = new RootCommand("videodata: turns narrated-video corpora into training data for video-text models.")
{
    DemoCommand.Create(mainThread),
    PreprocessCommand.Create(mainThread),
    DoctorCommand.Create(),
    LsCommand.Create(),
    ShardsCommand.Create(),
    ProbeCommand.Create(),
    DecodeCommand.Create(),
    FeaturesCommand.Create(mainThread),
    InspectCommand.Create(),
    TrainCommand.Create(mainThread),
    CaptionsCommand.Create(),
    ClusterCommand.Create(),
    PlanCommand.Create(),
    ClipsCommand.Create(),
    AlignCommand.Create(),

    StatusCommand.Create(),
    ReportCommand.Create(),
};

// oneDNN's kernels capped at AVX2 unless the caller chose, as the launcher does, however the program is started (OneDnnIsa).
OneDnnIsa.CapUnlessSet();

return mainThread.Serve(() => root.Parse(args).InvokeAsync());
