using System.Collections.Concurrent;
using System.Net;
using System.Security;
using System.Text;

namespace VideoData.Testing.S3;

/// <summary>One request the <see cref="LocalStsServer"/> received: the form fields and whether it was SigV4-signed, and by which access key.</summary>
/// <param name="Fields">The form fields of the POST body (Action, Version, RoleArn, RoleSessionName, WebIdentityToken, ...).</param>
/// <param name="SignedWithAccessKey">The access key of the request's SigV4 <c>Authorization</c> header, or null when unsigned.</param>
public sealed record StsRequest(IReadOnlyDictionary<string, string> Fields, string? SignedWithAccessKey)
{
    /// <summary>The <c>Action</c> field.</summary>
    public string Action => Fields.TryGetValue("Action", out var action) ? action : string.Empty;
}

/// <summary>
/// A small AWS STS endpoint on loopback for credential-chain tests: answers <c>AssumeRoleWithWebIdentity</c> (unsigned; the
/// token must equal <see cref="ExpectedToken"/> and the role <see cref="RoleArn"/>) and <c>AssumeRole</c> (SigV4-signed by
/// <see cref="SourceAccessKey"/>, the role <see cref="RoleArn"/>) with the XML documents real STS returns (query protocol,
/// namespace <c>https://sts.amazonaws.com/doc/2011-06-15/</c>), handing out <see cref="IssuedAccessKey"/> /
/// <see cref="IssuedSecretKey"/>. Anything else gets STS's <c>ErrorResponse</c> with status 400 or 403. Every request is
/// recorded in <see cref="Requests"/>. It checks who signed, not the signature itself: s3rver, which then receives the
/// issued keys, checks those.
/// </summary>
public sealed class LocalStsServer : IAsyncDisposable
{
    private const string Namespace = "https://sts.amazonaws.com/doc/2011-06-15/";
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly ConcurrentQueue<StsRequest> _requests = new();

    private LocalStsServer(int port)
    {
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Endpoint.ToString());
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>The endpoint, <c>http://127.0.0.1:PORT/</c>; give it to the SDK as <c>AWS_ENDPOINT_URL_STS</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>The role both actions accept.</summary>
    public string RoleArn { get; init; } = "arn:aws:iam::123456789012:role/videodata-worker";

    /// <summary>The web identity token <c>AssumeRoleWithWebIdentity</c> accepts (the content of the token file).</summary>
    public string ExpectedToken { get; init; } = "eyJhbGciOiJSUzI1NiJ9.videodata-test-token.signature";

    /// <summary>The access key <c>AssumeRole</c> requests must be signed with (the source profile's).</summary>
    public string SourceAccessKey { get; init; } = "SOURCEPROFILEKEY";

    /// <summary>The access key issued to the caller.</summary>
    public string IssuedAccessKey { get; set; } = S3ServerFixture.AccessKey;

    /// <summary>The secret key issued to the caller.</summary>
    public string IssuedSecretKey { get; set; } = S3ServerFixture.SecretKey;

    /// <summary>The session token issued to the caller.</summary>
    public string IssuedSessionToken { get; set; } = "videodata-test-session-token";

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<StsRequest> Requests => [.. _requests];

    /// <summary>Starts a server on a free loopback port.</summary>
    public static LocalStsServer Start(Action<LocalStsServer>? configure = null)
    {
        var server = new LocalStsServer(S3ServerFixture.FreeLoopbackPort());
        configure?.Invoke(server);
        return server;
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        // Close alone (it stops too): on Linux a second removal of the prefixes, after Stop, looks the port's endpoint up
        // again, binds the port anew and fails with "Address already in use" once another test's server holds it.
        try
        {
            _listener.Close();
        }
        catch (HttpListenerException)
        {
            // The server is going away either way; a failure to release it must not fail the test that used it.
        }

        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await AnswerAsync(context);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException)
            {
                // The client went away; the next request is unaffected.
            }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        string body;
        using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync();
        }

        var fields = ParseForm(body);
        if (context.Request.HttpMethod == "GET")
        {
            foreach (var pair in ParseForm(context.Request.Url?.Query.TrimStart('?') ?? string.Empty))
            {
                fields[pair.Key] = pair.Value;
            }
        }

        var request = new StsRequest(fields, SignedBy(context.Request.Headers["Authorization"]));
        _requests.Enqueue(request);
        var (status, xml) = request.Action switch
        {
            "AssumeRoleWithWebIdentity" => WebIdentity(request),
            "AssumeRole" => AssumeRole(request),
            _ => Error(400, "Sender", "InvalidAction", $"Could not find operation {request.Action} for version 2011-06-15"),
        };
        var bytes = Encoding.UTF8.GetBytes(xml);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/xml";
        context.Response.ContentLength64 = bytes.Length;
        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    private (int, string) WebIdentity(StsRequest request)
    {
        if (request.Fields.GetValueOrDefault("WebIdentityToken") != ExpectedToken)
        {
            return Error(400, "Sender", "InvalidIdentityToken", "The web identity token that was passed could not be validated.");
        }

        if (request.Fields.GetValueOrDefault("RoleArn") != RoleArn)
        {
            return Error(403, "Sender", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        }

        var session = request.Fields.GetValueOrDefault("RoleSessionName") ?? "session";
        return (200, $"""
            <AssumeRoleWithWebIdentityResponse xmlns="{Namespace}">
              <AssumeRoleWithWebIdentityResult>
                <Audience>sts.amazonaws.com</Audience>
                <AssumedRoleUser>
                  <AssumedRoleId>AROAVIDEODATATEST:{Escape(session)}</AssumedRoleId>
                  <Arn>arn:aws:sts::123456789012:assumed-role/videodata-worker/{Escape(session)}</Arn>
                </AssumedRoleUser>
                <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/TEST</Provider>
                <Credentials>
                  <AccessKeyId>{Escape(IssuedAccessKey)}</AccessKeyId>
                  <SecretAccessKey>{Escape(IssuedSecretKey)}</SecretAccessKey>
                  <SessionToken>{Escape(IssuedSessionToken)}</SessionToken>
                  <Expiration>{Expiration()}</Expiration>
                </Credentials>
                <SubjectFromWebIdentityToken>system:serviceaccount:videodata:worker</SubjectFromWebIdentityToken>
              </AssumeRoleWithWebIdentityResult>
              <ResponseMetadata>
                <RequestId>{Guid.NewGuid()}</RequestId>
              </ResponseMetadata>
            </AssumeRoleWithWebIdentityResponse>
            """);
    }

    private (int, string) AssumeRole(StsRequest request)
    {
        if (request.SignedWithAccessKey != SourceAccessKey)
        {
            return Error(403, "Sender", "InvalidClientTokenId", "The security token included in the request is invalid.");
        }

        if (request.Fields.GetValueOrDefault("RoleArn") != RoleArn)
        {
            return Error(403, "Sender", "AccessDenied", "Not authorized to perform sts:AssumeRole");
        }

        var session = request.Fields.GetValueOrDefault("RoleSessionName") ?? "session";
        return (200, $"""
            <AssumeRoleResponse xmlns="{Namespace}">
              <AssumeRoleResult>
                <AssumedRoleUser>
                  <AssumedRoleId>AROAVIDEODATATEST:{Escape(session)}</AssumedRoleId>
                  <Arn>arn:aws:sts::123456789012:assumed-role/videodata-worker/{Escape(session)}</Arn>
                </AssumedRoleUser>
                <Credentials>
                  <AccessKeyId>{Escape(IssuedAccessKey)}</AccessKeyId>
                  <SecretAccessKey>{Escape(IssuedSecretKey)}</SecretAccessKey>
                  <SessionToken>{Escape(IssuedSessionToken)}</SessionToken>
                  <Expiration>{Expiration()}</Expiration>
                </Credentials>
              </AssumeRoleResult>
              <ResponseMetadata>
                <RequestId>{Guid.NewGuid()}</RequestId>
              </ResponseMetadata>
            </AssumeRoleResponse>
            """);
    }

    private static (int, string) Error(int status, string type, string code, string message) => (status, $"""
        <ErrorResponse xmlns="{Namespace}">
          <Error>
            <Type>{type}</Type>
            <Code>{code}</Code>
            <Message>{Escape(message)}</Message>
          </Error>
          <RequestId>{Guid.NewGuid()}</RequestId>
        </ErrorResponse>
        """);

    private static string Expiration() => DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Escape(string text) => SecurityElement.Escape(text) ?? string.Empty;

    /// <summary>The access key of <c>AWS4-HMAC-SHA256 Credential=KEY/date/region/sts/aws4_request, ...</c>.</summary>
    private static string? SignedBy(string? authorization)
    {
        const string marker = "Credential=";
        var start = authorization?.IndexOf(marker, StringComparison.Ordinal) ?? -1;
        if (start < 0)
        {
            return null;
        }

        start += marker.Length;
        var end = authorization!.IndexOf('/', start);
        return end < 0 ? null : authorization[start..end];
    }

    private static Dictionary<string, string> ParseForm(string body)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString((equals < 0 ? pair : pair[..equals]).Replace('+', ' '));
            var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            fields[name] = value;
        }

        return fields;
    }
}
