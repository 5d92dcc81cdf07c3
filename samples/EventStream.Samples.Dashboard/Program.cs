using EventStream.Samples.Dashboard;

// dotnet run --project samples/EventStream.Samples.Dashboard -c Release -- --simulate 200 [--Dashboard:ApiKey KEY] [--redis localhost:6379] [--urls http://127.0.0.1:5000]
await DashboardApp.Build(args).RunAsync();
