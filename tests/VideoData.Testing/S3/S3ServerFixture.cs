using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace VideoData.Testing.S3;

/// <summary>
/// A real S3 server (the pinned npm package s3rver, installed into .tools/ by
/// <c>infra/scripts/setup.sh --tests</c>) on a free loopback port with a temporary data folder. Use it as
/// an xunit class or collection fixture; it starts the server, waits until it answers, creates buckets
/// on demand and stops the server (its whole process tree) and deletes the data on dispose.
/// </summary>
public sealed class S3ServerFixture : IAsyncLifetime
{
    /// <summary>The access key s3rver accepts.</summary>
    public const string AccessKey = "S3RVER";

    /// <summary>The secret key s3rver accepts.</summary>
    public const string SecretKey = "S3RVER";

    private static int s_bucketCounter;
    private readonly StringBuilder _log = new();
    private Process? _process;
    private AmazonS3Client? _client;
    private string? _dataDirectory;

    /// <summary>The server's endpoint, <c>http://127.0.0.1:PORT/</c>; valid after initialization.</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The loopback port the server listens on.</summary>
    public int Port => Endpoint.Port;

    /// <summary>Credentials the server accepts.</summary>
    public static AWSCredentials Credentials { get; } = new BasicAWSCredentials(AccessKey, SecretKey);

    /// <summary>A plain SDK client for the server (path-style, no chunk encoding), for setting up and checking tests independently of the code under test.</summary>
    public IAmazonS3 Client => _client ?? throw new InvalidOperationException("The S3 server fixture is not initialized.");

    /// <summary>The folder s3rver keeps its buckets in (objects are files below it).</summary>
    public string DataDirectory => _dataDirectory ?? throw new InvalidOperationException("The S3 server fixture is not initialized.");

    /// <summary>What the server printed so far (for failure messages).</summary>
    public string ServerLog
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts the server and waits (up to 30 s) until it answers HTTP.</summary>
    public async Task InitializeAsync()
    {
        var script = Path.Combine(RepoPaths.ToolsNodeModules, "s3rver", "bin", "s3rver.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"The S3 test server is not installed ({script} is missing): run infra/scripts/setup.sh --tests.");
        }

        _dataDirectory = Directory.CreateTempSubdirectory("videodata-s3rver-").FullName;
        var port = FreeLoopbackPort();
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // s3rver makes listing continuation tokens with DES, which OpenSSL 3 only has in its legacy provider.
        foreach (var argument in new[] { "--openssl-legacy-provider", script, "--directory", _dataDirectory, "--address", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent" })
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("Could not run 'node' for the S3 test server: run infra/scripts/setup.sh --tests (it needs Node.js).", ex);
        }

        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        await WaitUntilAnsweringAsync().ConfigureAwait(false);
        _client = new AmazonS3Client(Credentials, new AmazonS3Config
        {
            ServiceURL = Endpoint.ToString(),
            AuthenticationRegion = "us-east-1",
            ForcePathStyle = true,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
    }

    /// <summary>
    /// The environment that points a <c>videodata</c> process at this server (endpoint, path-style addressing, no chunk
    /// encoding, checksums only when required, its keys). A fresh dictionary: callers may add to it.
    /// </summary>
    public Dictionary<string, string?> ProgramEnvironment() => new(StringComparer.Ordinal)
    {
        ["VIDEODATA_S3_ENDPOINT"] = Endpoint.ToString(),
        ["VIDEODATA_S3_PATH_STYLE"] = "true",
        ["VIDEODATA_S3_CHUNK_ENCODING"] = "false",
        ["VIDEODATA_S3_CHECKSUM"] = "when_required",
        ["AWS_ACCESS_KEY_ID"] = AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
    };

    /// <summary>Creates a new, empty bucket with a unique name starting with <paramref name="prefix"/> and returns its name.</summary>
    public async Task<string> CreateBucketAsync(string prefix = "test")
    {
        var name = $"{prefix}-{Interlocked.Increment(ref s_bucketCounter)}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 20)].TrimEnd('-');
        await Client.PutBucketAsync(new PutBucketRequest { BucketName = name }).ConfigureAwait(false);
        return name;
    }

    /// <summary>Stops the server (killing its process tree) and deletes its data folder.</summary>
    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            finally
            {
                process.Dispose();
            }
        }

        if (_dataDirectory is not null && Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    /// <summary>A free TCP port on 127.0.0.1 (bound and released, so a race is possible but unlikely).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task WaitUntilAnsweringAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"The S3 test server exited with code {_process.ExitCode} before answering:\n{ServerLog}");
            }

            try
            {
                // Any HTTP answer (an unsigned request gets 403) means the server is up.
                using var response = await http.GetAsync(Endpoint).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex;
                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException($"The S3 test server did not answer on {Endpoint} within 30 s:\n{ServerLog}", last);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 64 * 1024)
            {
                _log.AppendLine(line);
            }
        }
    }
}
