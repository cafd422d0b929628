using VideoData.Core.Failures;

namespace VideoData.Core.Tests;

public class FailureClassNamesTests
{
    [Fact]
    public void Parse_EveryName_RoundTrips()
    {
        foreach (var value in Enum.GetValues<FailureClass>())
        {
            Assert.Equal(value, FailureClassNames.Parse(value.ToName()));
        }
    }

    [Fact]
    public void Parse_UnknownName_NamesTheValue()
    {
        var error = Assert.Throws<FormatException>(() => FailureClassNames.Parse("explode"));
        Assert.Contains("'explode'", error.Message, StringComparison.Ordinal);
    }
}
