using System.CommandLine;
using VideoData.Cli.Commands;

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
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
