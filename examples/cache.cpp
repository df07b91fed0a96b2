// A read-mostly cache in C++: readers look up prices under a
// std::shared_mutex, and a refresher thread rebuilds the whole table while
// holding the exclusive lock (the hot spot: refresh_prices() should build
// the new table outside the lock and swap it in).
//
//   LD_PRELOAD=build/libcontend.so build/examples/cache
//   go tool pprof -top contend.<pid>/mutex.pb.gz
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

static std::shared_mutex cache_lock;
static std::map<std::string, double> prices;

static void
refresh_prices(int round)
{
	std::unique_lock<std::shared_mutex> g(cache_lock);
	prices.clear();
	for (int i = 0; i < 1000; i++)
		prices["item" + std::to_string(i)] = i * 1.01 + round;
	// Stands for a slow upstream fetch done with the lock held.
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

static double
lookup_price(int i)
{
	std::shared_lock<std::shared_mutex> g(cache_lock);
	auto it = prices.find("item" + std::to_string(i % 1000));
	return it == prices.end() ? 0 : it->second;
}

int
main()
{
	refresh_prices(0);
	std::vector<std::thread> readers;
	std::atomic<bool> done{false};
	double sums[3] = {0, 0, 0};
	// Readers keep serving lookups for as long as the refresher runs.
	for (int r = 0; r < 3; r++)
		readers.emplace_back([r, &sums, &done] {
			for (int i = 0; !done.load(std::memory_order_relaxed); i++)
				sums[r] += lookup_price(i);
		});
	std::thread refresher([&done] {
		for (int round = 1; round <= 10; round++) {
			refresh_prices(round);
			std::this_thread::sleep_for(std::chrono::milliseconds(5));
		}
		done = true;
	});
	for (auto &t : readers)
		t.join();
	refresher.join();
	std::printf("cache: %.0f total of prices looked up\n", sums[0] + sums[1] + sums[2]);
	return 0;
}
