using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using VideoData.Storage.Blobs;

namespace VideoData.Storage.S3;

/// <summary>
/// The retry policy of the S3 store: which faults are transient, and the Polly pipeline (total timeout ⊃
/// jittered exponential retry ⊃ per-attempt timeout) every request runs through. The SDK's own retries
/// are off, so the counters here see every attempt.
/// </summary>
internal static class S3Resilience
{
    private static readonly HashSet<string> s_throttleCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
        "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    };

    private static readonly HashSet<string> s_transientCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
        "IDPCommunicationError", "EC2ThrottledException",
    };

    public static ResiliencePipeline Build(S3StoreOptions options, StorageCounters counters)
    {
        var retry = new RetryStrategyOptions
        {
            MaxRetryAttempts = Math.Max(1, options.MaxRetryAttempts),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.RetryBaseDelay,
            MaxDelay = options.RetryMaxDelay,
            ShouldHandle = args =>
            {
                if (args.Outcome.Exception is not { } exception)
                {
                    return ValueTask.FromResult(false);
                }

                var kind = Classify(exception);
                if (kind == FaultKind.Throttle)
                {
                    counters.Throttle();
                }

                return ValueTask.FromResult(options.MaxRetryAttempts > 0 && kind != FaultKind.Permanent);
            },
            OnRetry = _ =>
            {
                counters.Retry();
                return default;
            },
        };

        return new ResiliencePipelineBuilder()
            .AddTimeout(options.TotalTimeout)
            .AddRetry(retry)
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    public enum FaultKind
    {
        Permanent,
        Transient,
        Throttle,
    }

    /// <summary>Transient: 5xx, throttling, connection faults and attempt timeouts. Permanent: everything else (403, 404, 400, bugs).</summary>
    public static FaultKind Classify(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case TimeoutRejectedException:
                    return FaultKind.Transient;
                case AmazonServiceException service:
                    // S3 answers 503 only to say "slow down" (a HEAD's 503 has no body to name the code).
                    if ((int)service.StatusCode is 429 or 503 || (service.ErrorCode is { } code && s_throttleCodes.Contains(code)))
                    {
                        return FaultKind.Throttle;
                    }

                    if ((int)service.StatusCode >= 500 || (service.ErrorCode is { } transient && s_transientCodes.Contains(transient)))
                    {
                        return FaultKind.Transient;
                    }

                    if (service.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest
                        or HttpStatusCode.PreconditionFailed or HttpStatusCode.RequestedRangeNotSatisfiable or HttpStatusCode.Unauthorized)
                    {
                        return FaultKind.Permanent;
                    }

                    // No status: the SDK wraps transport faults (reset, truncated body) in its own exception;
                    // the inner exception decides.
                    break;
                case HttpRequestException:
                case IOException:
                case SocketException:
                    return FaultKind.Transient;
                case OperationCanceledException:
                    // A caller's cancellation is never retried; attempt timeouts arrive as TimeoutRejectedException.
                    return FaultKind.Permanent;
            }
        }

        return FaultKind.Permanent;
    }

    /// <summary>Whether the exception is S3's answer "no such object/bucket".</summary>
    public static bool IsNotFound(Exception exception) =>
        exception is AmazonServiceException { StatusCode: HttpStatusCode.NotFound };
}
