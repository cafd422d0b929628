using System.CommandLine;

namespace VideoData.Cli.Commands;

internal static class DoctorCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the report as JSON instead of a table." };
        var command = new Command("doctor", "Checks the native dependencies (FFmpeg, TorchSharp/libtorch, CUDA) and the configured S3 endpoint.")
        {
            json,
        };
        command.SetAction(parseResult =>
        {
            Console.WriteLine("doctor: not implemented yet");
            return 1;
        });
        return command;
    }
}
