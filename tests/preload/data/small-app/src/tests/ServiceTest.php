<?php

namespace App\tests;

class ServiceTest extends \PHPUnit\Framework\TestCase
{
}
