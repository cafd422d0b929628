using TorchSharp;
using static TorchSharp.torch;

namespace VideoData.Features.Tests;

/// <summary>
/// The build's libstdc++ fix (DESIGN §5) is what lets libLibTorchSharp.so load on Debian 12; this is the
/// end-to-end proof: load the native library and run a real Conv3d forward through it.
/// </summary>
public class TorchSharpLoadTests
{
    [Fact]
    public void Conv3d_Forward_RunsOnTheCpu()
    {
        using var scope = NewDisposeScope();
        var conv = nn.Conv3d(3, 4, kernel_size: 3, padding: 1, bias: false);
        using (no_grad())
        {
            conv.weight!.fill_(1.0f);
        }

        var input = ones([1, 3, 2, 5, 5]);
        var output = conv.forward(input);

        Assert.Equal(new long[] { 1, 4, 2, 5, 5 }, output.shape);
        // Centre voxel of the first frame: 3 channels x (2 frames in range) x 3 x 3 ones under the kernel.
        Assert.Equal(54f, output[0, 0, 0, 2, 2].item<float>());
        // Corner voxel: 3 channels x 2 x 2 x 2 in range.
        Assert.Equal(24f, output[0, 1, 0, 0, 0].item<float>());
    }
}
