using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace VideoData.Storage.S3;

/// <summary>
/// Where the standard AWS credential chain found credentials, for <c>videodata doctor</c> and logs. Names the source
/// (environment keys, a profile, web identity, SSO, a container or instance role, ...) and what identifies it (profile
/// name, role ARN, token file path); never an access key, a secret or a session token.
/// </summary>
/// <param name="Kind">
/// One of <c>environment</c>, <c>profile</c>, <c>profile-assume-role</c>, <c>profile-process</c>, <c>web-identity</c>,
/// <c>sso</c>, <c>container-role</c>, <c>instance-role</c>, <c>other</c>, or <c>none</c> when the chain found nothing.
/// </param>
/// <param name="Description">One line for people, without secrets.</param>
/// <param name="Credentials">The credentials the chain returned; null when <see cref="Kind"/> is <c>none</c>.</param>
public sealed record AwsCredentialSource(string Kind, string Description, AWSCredentials? Credentials)
{
    /// <summary>
    /// Runs the SDK's default credential chain (the one <c>AmazonS3Client</c> uses when no credentials are given: environment
    /// keys, <c>AWS_PROFILE</c>'s profile — basic, <c>role_arn</c> + <c>source_profile</c>, <c>credential_process</c>, SSO —,
    /// web identity from <c>AWS_WEB_IDENTITY_TOKEN_FILE</c> and <c>AWS_ROLE_ARN</c>, then the container and instance roles)
    /// and names the source it settled on. Resolving the source does not fetch temporary credentials; see
    /// <see cref="VerifyAsync"/>.
    /// </summary>
    public static AwsCredentialSource Find()
    {
        AWSCredentials credentials;
        try
        {
            credentials = DefaultAWSCredentialsIdentityResolver.GetCredentials();
        }
        catch (AmazonClientException ex)
        {
            return new AwsCredentialSource("none", $"no credentials found in the AWS chain ({FirstLine(ex.Message)})", null);
        }

        return Describe(credentials, Environment.GetEnvironmentVariable);
    }

    /// <summary>Names the source of <paramref name="credentials"/>; <paramref name="getVariable"/> supplies <c>AWS_PROFILE</c>.</summary>
    public static AwsCredentialSource Describe(AWSCredentials credentials, Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(getVariable);
        var profile = getVariable("AWS_PROFILE") is { Length: > 0 } name ? name : "default";
        var (kind, description) = credentials switch
        {
            EnvironmentVariablesAWSCredentials => ("environment", "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
            AssumeRoleWithWebIdentityCredentials web => ("web-identity", $"web identity: role {web.RoleArn} with the token in {web.WebIdentityTokenFile} (AssumeRoleWithWebIdentity)"),
            SSOAWSCredentials sso => ("sso", $"SSO (profile '{profile}'): account {sso.AccountId}, role {sso.RoleName}, start URL {sso.StartUrl}"),
            AssumeRoleAWSCredentials role => ("profile-assume-role", $"profile '{profile}': role {role.RoleArn} assumed with its source profile's credentials (AssumeRole)"),
            ProcessAWSCredentials => ("profile-process", $"profile '{profile}': credential_process"),
            GenericContainerCredentials => ("container-role", "container role (ECS task role or EKS Pod Identity endpoint)"),
            InstanceProfileAWSCredentials => ("instance-role", "EC2 instance profile role (instance metadata service)"),
            BasicAWSCredentials or SessionAWSCredentials => ("profile", $"profile '{profile}' in the shared AWS config/credentials files"),
            // The chain's own instance-profile type is internal to the SDK; it is recognised by name.
            _ when credentials.GetType().Name == "DefaultInstanceProfileAWSCredentials" => ("instance-role", "EC2 instance profile role (instance metadata service)"),
            _ => ("other", credentials.GetType().Name),
        };
        return new AwsCredentialSource(kind, description, credentials);
    }

    /// <summary>
    /// Fetches the credentials once (for a role this calls STS, the SSO portal or the metadata endpoint), within
    /// <paramref name="timeout"/>. Returns null when that worked, else why not (without secrets).
    /// </summary>
    public async Task<string?> VerifyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (Credentials is not { } credentials)
        {
            return Description;
        }

        try
        {
            var immutable = await Task.Run(credentials.GetCredentials, cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return string.IsNullOrEmpty(immutable?.AccessKey) ? "the source returned no access key" : null;
        }
        catch (TimeoutException)
        {
            return $"no answer within {timeout.TotalSeconds:0} s";
        }
        catch (Exception ex) when (ex is AmazonClientException or AmazonServiceException or HttpRequestException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return FirstLine(ex.GetBaseException().Message);
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
